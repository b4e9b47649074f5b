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

url="http://127.0.0.1:$PORT/dashboard/"
[ "$HOST" = "127.0.0.1" ] || [ "$HOST" = "0.0.0.0" ] || url="http://$HOST:$PORT/dashboard/"
log "starting web, worker, beat and poller; press Ctrl-C to stop"
log "dashboard: $url"
honcho start -f Procfile &
HONCHO_PID=$!
wait "$HONCHO_PID"
