"""Per-user quotas: policies with overrides, admission of async work, status for pages."""

import logging
import math
import threading
import time

from django.conf import settings

from . import events, metrics
from .exceptions import QuotaExceeded
from .ratelimit import RateLimiter, RateLimitPolicy
from .redis import get_redis, redis_key

logger = logging.getLogger(__name__)

# Rate limits shown to users; "anon" is per IP address and not a user's quota.
USER_RATE_KINDS = (
    "ai_suggest", "ai_generate", "latex_compile", "paper_search", "pdf_process", "metadata", "figure_export", "api",
)
# At most one push of the API quota per user per interval, so a burst of API
# requests costs one event rather than one per request.
PUSH_INTERVAL = 1.0

_limiters = {}
_last_push = {}
_push_lock = threading.Lock()


def get_limiter():
    """Return the process's limiter over the process's Redis client."""
    client = get_redis()
    limiter = _limiters.get(id(client))
    if limiter is None:
        _limiters.clear()
        limiter = _limiters[id(client)] = RateLimiter(client, prefix=redis_key("rl"))
    return limiter


def default_policy(kind):
    entry = settings.RATE_LIMITS[kind]
    return RateLimitPolicy.parse(entry["rate"], burst=entry["burst"])


def _overrides(user_id, kinds):
    from .models import QuotaOverride

    if user_id is None:
        return {}
    rows = QuotaOverride.objects.filter(user_id=user_id, kind__in=kinds).values_list("kind", "limit", "burst")
    return {kind: (limit, burst) for kind, limit, burst in rows}


def policy_for(user_id, kind):
    """Return the user's policy for ``kind``: their override if any, else the default."""
    override = _overrides(user_id, [kind]).get(kind)
    if override is None:
        return default_policy(kind)
    limit, burst = override
    return RateLimitPolicy.parse(limit, burst=burst)


def job_caps_for(user_id):
    """Return {"max_running": n, "max_submitted": n} for the user."""
    caps = {
        "max_running": settings.JOB_LIMITS["max_running"],
        "max_submitted": settings.JOB_LIMITS["max_submitted"],
    }
    for kind, (limit, _burst) in _overrides(user_id, list(caps)).items():
        caps[kind] = int(limit)
    return caps


def subject_for_user(user_id):
    return f"user:{user_id}"


def admit(user, kind):
    """Spend one unit of the user's ``kind`` quota or raise QuotaExceeded.

    Views call this before they enqueue anything, so a rejected request
    leaves no task behind.
    """
    from .admission import check_not_paused

    check_not_paused(kind)
    policy = policy_for(user.pk, kind)
    decision = get_limiter().hit(kind, subject_for_user(user.pk), policy)
    metrics.record_decision(kind, user.pk, decision.allowed, metrics.RATE_LIMITED)
    push_quota(user.pk, kind)
    if not decision.allowed:
        label = settings.RATE_LIMITS[kind]["label"]
        logger.info("user %s is over the %s limit; retry in %.1f s", user.pk, kind, decision.retry_after)
        raise QuotaExceeded(
            f"{label}: you used all {decision.limit} allowed at once ({settings.RATE_LIMITS[kind]['rate']}"
            f" on average). Try again in {decision.retry_after_seconds} s.",
            kind=kind,
            retry_after=decision.retry_after_seconds,
            limit=decision.limit,
            remaining=decision.remaining,
        )
    return decision


def rate_status(user_id, kind, policy=None):
    policy = policy or policy_for(user_id, kind)
    decision = get_limiter().peek(kind, subject_for_user(user_id), policy)
    return {
        "kind": kind,
        "label": settings.RATE_LIMITS[kind]["label"],
        "rate": f"{policy.rate}/{_period_name(policy.period)}",
        "limit": decision.limit,
        "remaining": decision.remaining,
        "reset_in": decision.reset_in,
        "refill_interval": policy.emission_interval,
    }


def job_status(user_id):
    from apps.code_app.models import Job, JobState

    active = Job.objects.filter(owner_id=user_id).active()
    caps = job_caps_for(user_id)
    return {
        "running": active.filter(state=JobState.RUNNING).count(),
        "submitted": active.count(),
        **caps,
    }


def get_user_quota_status(user):
    """Return each rate quota (remaining, limit, reset_in) and the job caps in use, spending nothing."""
    overrides = _overrides(user.pk, USER_RATE_KINDS)
    rates = {}
    for kind in USER_RATE_KINDS:
        policy = default_policy(kind)
        if kind in overrides:
            limit, burst = overrides[kind]
            policy = RateLimitPolicy.parse(limit, burst=burst)
        rates[kind] = rate_status(user.pk, kind, policy)
    return {"rates": rates, "jobs": job_status(user.pk)}


def push_quota(user_id, kind):
    """Push the user's current ``kind`` quota to their pages, at most once per second per kind."""
    if kind == "api":
        now = time.monotonic()
        with _push_lock:
            if now - _last_push.get(user_id, -math.inf) < PUSH_INTERVAL:
                return
            _last_push[user_id] = now
    try:
        payload = rate_status(user_id, kind)
    except Exception:
        logger.exception("reading the %s quota of user %s failed", kind, user_id)
        return
    events.publish_to_user(user_id, events.QUOTA_CHANGED, {"rates": {kind: payload}})


def push_job_caps(user_id):
    events.publish_to_user(user_id, events.QUOTA_CHANGED, {"jobs": job_status(user_id)})


def _period_name(seconds):
    names = {1: "sec", 60: "min", 3600: "hour", 86400: "day"}
    return names.get(seconds, f"{seconds:g}s")
