"""Counters of admissions and rejections, per minute and per hour, in Redis.

Each minute has one hash ``<prefix>:metrics:m:<epoch minute>`` and each hour
one hash ``<prefix>:metrics:h:<epoch hour>``. Their fields are
``admitted:<kind>``, ``rejected:<reason>``, ``rejected:<reason>:<kind>`` and
``rejected_user:<user id>``. Minute hashes expire after two hours and hour
hashes after eight days, so the counters never need cleaning up.

Counting must never block admission: a Redis error is logged at most once a
minute and the request goes on.
"""

import logging
import time

from redis.exceptions import RedisError

from .redis import get_redis, redis_key

logger = logging.getLogger(__name__)

MINUTE_TTL = 2 * 3600
HOUR_TTL = 8 * 86400
# Rejection reasons, named as the error codes the API returns.
RATE_LIMITED = "rate_limited"
THROTTLED = "throttled"
JOB_LIMIT_REACHED = "job_limit_reached"
REJECTION_REASONS = (RATE_LIMITED, THROTTLED, JOB_LIMIT_REACHED)

_last_error_logged = 0.0


def minute_key(epoch_minute):
    return redis_key("metrics", "m", epoch_minute)


def hour_key(epoch_hour):
    return redis_key("metrics", "h", epoch_hour)


def _increment(fields, now=None):
    now = time.time() if now is None else now
    minute, hour = int(now // 60), int(now // 3600)
    try:
        pipe = get_redis().pipeline(transaction=False)
        for key, ttl in ((minute_key(minute), MINUTE_TTL), (hour_key(hour), HOUR_TTL)):
            for field in fields:
                pipe.hincrby(key, field, 1)
            pipe.expire(key, ttl)
        pipe.execute()
    except RedisError as exc:
        _log_error(exc)


def _log_error(exc):
    global _last_error_logged
    now = time.monotonic()
    if now - _last_error_logged >= 60:
        _last_error_logged = now
        logger.warning("counting an admission in Redis failed: %s", exc)


def record_admission(kind, user_id=None, *, now=None):
    """Count one unit of ``kind`` work admitted for ``user_id``."""
    fields = [f"admitted:{kind}"]
    if user_id is not None:
        fields.append(f"admitted_user:{user_id}")
    _increment(fields, now)


def record_rejection(kind, user_id, reason, *, now=None):
    """Count one request of ``kind`` rejected for ``reason`` (one of REJECTION_REASONS)."""
    fields = [f"rejected:{reason}", f"rejected:{reason}:{kind}"]
    if user_id is not None:
        fields.append(f"rejected_user:{user_id}")
    _increment(fields, now)


def record_decision(kind, user_id, allowed, reason):
    """Count an admission when ``allowed``, else a rejection for ``reason``."""
    if allowed:
        record_admission(kind, user_id)
    else:
        record_rejection(kind, user_id, reason)


def record_throttle(kind, request, allowed):
    """Count a request that a throttle rejected; allowed requests are not counted."""
    if allowed:
        return
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else None
    record_rejection(kind, user_id, THROTTLED)


def _read(keys):
    pipe = get_redis().pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    return [{field.decode(): int(value) for field, value in row.items()} for row in pipe.execute()]


def _summarise(counts):
    admitted = sum(value for field, value in counts.items() if field.startswith("admitted:"))
    rejected = sum(counts.get(f"rejected:{reason}", 0) for reason in REJECTION_REASONS)
    return {"admitted": admitted, "rejected": rejected}


def per_minute(minutes=60, *, now=None):
    """Return the last ``minutes`` minutes, oldest first, as [{"start", "admitted", "rejected"}].

    ``start`` is the minute's start in epoch seconds; the current minute is last.
    """
    now = time.time() if now is None else now
    last = int(now // 60)
    starts = list(range(last - minutes + 1, last + 1))
    rows = _read([minute_key(minute) for minute in starts])
    return [{"start": minute * 60, **_summarise(counts)} for minute, counts in zip(starts, rows)]


def per_hour(hours=24, *, now=None):
    """Return the last ``hours`` hours, oldest first, in the shape of ``per_minute``."""
    now = time.time() if now is None else now
    last = int(now // 3600)
    starts = list(range(last - hours + 1, last + 1))
    rows = _read([hour_key(hour) for hour in starts])
    return [{"start": hour * 3600, **_summarise(counts)} for hour, counts in zip(starts, rows)]


def rejections_by_user(minutes=60, *, now=None):
    """Return {user_id: rejections} over the last ``minutes`` minutes."""
    now = time.time() if now is None else now
    last = int(now // 60)
    totals = {}
    for counts in _read([minute_key(minute) for minute in range(last - minutes + 1, last + 1)]):
        for field, value in counts.items():
            if field.startswith("rejected_user:"):
                user_id = int(field.split(":", 1)[1])
                totals[user_id] = totals.get(user_id, 0) + value
    return totals


def rejections_by_reason(minutes=60, *, now=None):
    """Return {reason: rejections} over the last ``minutes`` minutes, every reason present."""
    now = time.time() if now is None else now
    last = int(now // 60)
    totals = dict.fromkeys(REJECTION_REASONS, 0)
    for counts in _read([minute_key(minute) for minute in range(last - minutes + 1, last + 1)]):
        for reason in REJECTION_REASONS:
            totals[reason] += counts.get(f"rejected:{reason}", 0)
    return totals
