"""Health of the parts the platform depends on, and the /healthz endpoint.

Each check returns a dict with ``ok`` and a ``detail`` sentence, plus figures
such as ages in seconds. Details name the failed part and the error class but
never a URL, password or token.

The poller writes its heartbeat after every tick, and the Celery workers write
theirs from the ``record_heartbeat`` beat task. Both live in Redis, so a check
here needs no access to the poller's or the workers' hosts.
"""

import json
import logging
import time

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from redis.exceptions import RedisError

from .redis import get_redis, redis_key
from .tasks import HEARTBEAT_TTL

logger = logging.getLogger(__name__)

POLLER_HEARTBEAT_TTL = 600
WORKER_PING_TIMEOUT = 1.0
WORKER_PING_CACHE_SECONDS = 15
# kombu's Redis transport keeps each priority level of a queue in its own
# list named <queue>\x06\x16<priority> (kombu 5.x, default priority steps).
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)

_last_heartbeat_error = 0.0


def poller_heartbeat_key():
    return redis_key("poller-heartbeat")


def worker_heartbeat_key():
    return redis_key("worker-heartbeat")


def worker_ping_key():
    return redis_key("worker-ping")


def poller_max_age():
    """Return the seconds after which a silent poller counts as down."""
    return max(30.0, 10 * settings.POLLER_INTERVAL)


def record_poller_heartbeat(backend, *, reached_scheduler):
    """Store that the poller finished a tick and whether it reached the scheduler.

    A backend that handles an unreachable controller itself (and so does not
    raise from ``poll``) reports it through a ``scheduler_reachable``
    attribute. A Redis error is logged, at most once a minute, and not raised,
    so the poller keeps polling.
    """
    global _last_heartbeat_error
    reached = bool(reached_scheduler and getattr(backend, "scheduler_reachable", True))
    beat = {"at": time.time(), "backend": backend.name, "reached_scheduler": reached}
    try:
        get_redis().set(poller_heartbeat_key(), json.dumps(beat), ex=POLLER_HEARTBEAT_TTL)
    except RedisError as exc:
        if time.monotonic() - _last_heartbeat_error >= 60:
            _last_heartbeat_error = time.monotonic()
            logger.warning("writing the poller heartbeat failed: %s", exc)


def check_database():
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "detail": f"The database did not answer a query ({exc.__class__.__name__})."}
    return {"ok": True, "detail": "The database answered."}


def check_redis():
    try:
        get_redis().ping()
    except RedisError as exc:
        return {"ok": False, "detail": f"Redis did not answer PING ({exc.__class__.__name__})."}
    return {"ok": True, "detail": "Redis answered PING."}


def _redis_unreachable(exc, what):
    return {"ok": False, "detail": f"Reading the {what} from Redis failed ({exc.__class__.__name__})."}


def check_scheduler(now=None):
    """Check the poller's heartbeat; for Slurm also whether its last poll reached the controller."""
    now = time.time() if now is None else now
    try:
        raw = get_redis().get(poller_heartbeat_key())
    except RedisError as exc:
        return {"backend": settings.SCHEDULER_BACKEND, **_redis_unreachable(exc, "poller heartbeat")}
    result = {"backend": settings.SCHEDULER_BACKEND}
    if raw is None:
        return {**result, "ok": False, "detail": "The poller has not written a heartbeat; start it (manage.py run_poller)."}

    beat = json.loads(raw)
    age = max(now - beat["at"], 0.0)
    result.update(age_seconds=round(age, 1), reached_scheduler=beat.get("reached_scheduler"))
    if age > poller_max_age():
        return {**result, "ok": False, "detail": f"The poller's last tick was {age:.0f} s ago; it is stopped or stuck."}
    if not beat.get("reached_scheduler"):
        return {**result, "ok": False, "detail": "The poller runs but its last poll did not reach the scheduler."}
    return {**result, "ok": True, "detail": f"The poller polled the scheduler {age:.0f} s ago."}


def cached_worker_ping():
    """Return the last ping result {"at", "workers"} if fresher than WORKER_PING_CACHE_SECONDS, else None."""
    raw = get_redis().get(worker_ping_key())
    return json.loads(raw) if raw else None


def ping_workers():
    """Ping every Celery worker (waiting WORKER_PING_TIMEOUT s), cache and return {"at", "workers"}.

    Blocks for the whole timeout, so async callers run it in a thread.
    """
    from project.celery import app

    replies = app.control.ping(timeout=WORKER_PING_TIMEOUT) or []
    result = {"at": time.time(), "workers": sorted(name for reply in replies for name in reply)}
    get_redis().set(worker_ping_key(), json.dumps(result), ex=WORKER_PING_CACHE_SECONDS)
    return result


def check_workers(now=None, *, ping=False):
    """Check the workers' heartbeat task; with ``ping``, also ping them unless a recent result is cached.

    The heartbeat proves that a worker consumed a task from a queue within
    HEARTBEAT_TTL seconds, which needs beat running too.
    """
    now = time.time() if now is None else now
    try:
        raw = get_redis().get(worker_heartbeat_key())
        replies = cached_worker_ping()
        if ping and replies is None:
            replies = ping_workers()
    except RedisError as exc:
        return _redis_unreachable(exc, "worker heartbeat")

    result = {"replied": replies["workers"] if replies else None}
    if raw is None:
        return {
            **result, "ok": False,
            "detail": f"No worker ran the heartbeat task in {HEARTBEAT_TTL} s; start a worker and beat.",
        }
    age = max(now - float(raw), 0.0)
    return {**result, "ok": True, "age_seconds": round(age, 1), "detail": f"A worker ran the heartbeat task {age:.0f} s ago."}


def broker_client():
    """Return a Redis client for the Celery broker, which may be another server than REDIS_URL."""
    import redis

    if settings.CELERY_BROKER_URL == settings.REDIS_URL:
        return get_redis()
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5, socket_connect_timeout=5)


def queue_depths():
    """Return {queue: messages waiting} for each Celery queue, all priority levels together."""
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    queues = list(settings.CELERY_TASK_QUEUES_NAMES)
    pipe = broker_client().pipeline(transaction=False)
    for queue in queues:
        pipe.llen(prefix + queue)
        for step in KOMBU_PRIORITY_STEPS:
            pipe.llen(f"{prefix}{queue}{KOMBU_PRIORITY_SEPARATOR}{step}")
    lengths = pipe.execute()
    per_queue = len(KOMBU_PRIORITY_STEPS) + 1
    return {queue: sum(lengths[index * per_queue:(index + 1) * per_queue]) for index, queue in enumerate(queues)}


def check_all():
    """Return {"status": "ok" | "unhealthy", "components": {...}} for every part."""
    now = time.time()
    components = {
        "database": check_database(),
        "redis": check_redis(),
        "scheduler": check_scheduler(now),
        "workers": check_workers(now),
    }
    healthy = all(component["ok"] for component in components.values())
    return {"status": "ok" if healthy else "unhealthy", "components": components}


@never_cache
@csrf_exempt
@require_GET
def healthz(request):
    """Report each component as JSON: 200 when all are healthy, else 503."""
    report = check_all()
    if report["status"] != "ok":
        failed = [name for name, component in report["components"].items() if not component["ok"]]
        logger.warning("health check failed: %s", ", ".join(failed))
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
