#!/usr/bin/env bash
# `make run`: install, migrate, make sure Redis answers, create the demo users
# and start every process of the Procfile. Ctrl-C stops all of them.
set -euo pipefail
cd "$(dirname "$0")/../.."
source deployment/local/common.sh

HONCHO_PID=""
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$HONCHO_PID" ] && kill -0 "$HONCHO_PID" 2>/dev/null; then
        kill -TERM "$HONCHO_PID" 2>/dev/null || true
        wait "$HONCHO_PID" 2>/dev/null || true
    fi
    stop_private_redis
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM

ensure_venv
ensure_redis
export PORT=${PORT:-8000}
export HOST=${HOST:-127.0.0.1}

log "applying database migrations"
python manage.py migrate --noinput >/dev/null
python manage.py setup_demo

base_url="http://127.0.0.1:$PORT"
[ "$HOST" = "127.0.0.1" ] || [ "$HOST" = "0.0.0.0" ] || base_url="http://$HOST:$PORT"
processes=(web worker beat poller)
# Slurm's hooks push job states into Redis; this process applies them.
if [ "${SCHEDULER_BACKEND:-local}" = "slurm" ] && [ "${SLURM_PUSH:-false}" = "true" ]; then
    processes+=(slurmpush)
fi
# Flower runs only on request and never without a login.
if [ "${ENABLE_FLOWER:-false}" = "true" ]; then
    if [ -z "${FLOWER_BASIC_AUTH:-}" ]; then
        FLOWER_BASIC_AUTH="admin:$(python -c 'import secrets; print(secrets.token_urlsafe(12))')"
        export FLOWER_BASIC_AUTH
        log "Flower login: $FLOWER_BASIC_AUTH (set FLOWER_BASIC_AUTH=user:password to choose it)"
    fi
    processes+=(flower)
fi
log "starting ${processes[*]}; press Ctrl-C to stop"
log "dashboard: $base_url/dashboard/"
log "fairness console (staff): $base_url/console/   health: $base_url/healthz   API docs: $base_url/api/docs/"
if [ "${ENABLE_FLOWER:-false}" = "true" ]; then
    log "Flower: http://${FLOWER_HOST:-127.0.0.1}:${FLOWER_PORT:-5555}/"
fi
honcho start -f Procfile "${processes[@]}" &
HONCHO_PID=$!
wait "$HONCHO_PID"
