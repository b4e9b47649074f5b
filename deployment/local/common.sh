# Shared steps of `make run` and `make test`: the virtual environment and Redis.
# Sourced by run.sh and test.sh; expects to run from the repository root.

VENV_DIR=${VENV_DIR:-.venv}
PYTHON=${PYTHON:-python3}
VAR_DIR=${VAR_DIR:-var}
PRIVATE_REDIS_PID=""

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

ensure_venv() {
    # Reinstall only when pyproject.toml changed since the last install.
    local stamp="$VENV_DIR/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -x "$VENV_DIR/bin/python" ]; then
        log "creating the virtual environment in $VENV_DIR"
        "$PYTHON" -m venv "$VENV_DIR" || die "could not create a virtual environment with $PYTHON; install python3-venv"
    fi
    if [ ! -e "$stamp" ]; then
        log "installing the project and its pinned dependencies (log: $VAR_DIR/pip.log)"
        mkdir -p "$VAR_DIR"
        "$VENV_DIR/bin/python" -m pip install --upgrade pip >"$VAR_DIR/pip.log" 2>&1
        "$VENV_DIR/bin/python" -m pip install -e ".[test]" >>"$VAR_DIR/pip.log" 2>&1 \
            || { tail -n 30 "$VAR_DIR/pip.log" >&2; die "pip install failed; see $VAR_DIR/pip.log"; }
        rm -f "$VENV_DIR"/.installed-*
        touch "$stamp"
    fi
    export PATH="$PWD/$VENV_DIR/bin:$PATH"
}

redis_reachable() {
    timeout 10 "$VENV_DIR/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_timeout=2, socket_connect_timeout=2).ping()
PY
}

free_port() {
    "$VENV_DIR/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

install_redis_server() {
    if command -v redis-server >/dev/null 2>&1; then
        return
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing redis-server from Debian's packages"
        timeout 600 apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
            || die "apt-get install redis-server failed"
    else
        die "redis-server is not installed; install it (Debian: apt-get install redis-server) or set REDIS_URL"
    fi
}

stop_private_redis() {
    if [ -n "$PRIVATE_REDIS_PID" ] && kill -0 "$PRIVATE_REDIS_PID" 2>/dev/null; then
        log "stopping the private Redis (pid $PRIVATE_REDIS_PID)"
        kill "$PRIVATE_REDIS_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$PRIVATE_REDIS_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    PRIVATE_REDIS_PID=""
}

# Use REDIS_URL when it is set; otherwise start a private redis-server for
# this checkout on a free port. The caller stops it with stop_private_redis.
ensure_redis() {
    if [ -n "${REDIS_URL:-}" ]; then
        redis_reachable "$REDIS_URL" || die "REDIS_URL=$REDIS_URL is set but Redis does not answer there"
        log "using the Redis at $REDIS_URL"
        return
    fi
    install_redis_server
    local port dir
    port=$(free_port)
    dir="$VAR_DIR/redis"
    mkdir -p "$dir"
    # By default saved to var/redis/dump.rdb on stop and every minute, so rate
    # limits, admission pauses and unread job events survive a restart.
    setsid redis-server --bind 127.0.0.1 --port "$port" --save "${PRIVATE_REDIS_SAVE-60 1}" --appendonly no \
        --dir "$dir" --dbfilename dump.rdb --logfile "$PWD/$dir/redis.log" </dev/null >/dev/null 2>&1 &
    PRIVATE_REDIS_PID=$!
    export REDIS_URL="redis://127.0.0.1:$port/0"
    for _ in $(seq 100); do
        redis_reachable "$REDIS_URL" && { log "started a private Redis at $REDIS_URL (pid $PRIVATE_REDIS_PID)"; return; }
        sleep 0.1
    done
    die "the private Redis did not start; see $dir/redis.log"
}
