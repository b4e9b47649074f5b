"""Each user's fair-share factor, refreshed by the poller and shown on the dashboard."""

import logging
from datetime import timedelta

from django.utils import timezone
from redis.exceptions import RedisError

from apps.core import events, fairness
from apps.core.redis import get_redis, redis_key

from ..models import Job, JobState

logger = logging.getLogger(__name__)

# Slurm recomputes fair-share once a minute (PriorityCalcPeriod=1 in the
# shipped slurm.conf); reading it more often than this would only cost calls.
REFRESH_SECONDS = 15.0


def _key():
    return redis_key("fairshare")


def current_factors(backend):
    """Return {user_id: factor}: Slurm's sshare figures, or the local scheduler's own formula."""
    factors = fairness.scheduler_fairshare(backend)
    if factors is not None:
        return factors
    now = timezone.now()
    rows = fairness.load_job_rows(now - timedelta(days=7), now)
    users = set(Job.objects.active().values_list("owner_id", flat=True))
    return fairness.fairshare_factors(fairness.decayed_usage(rows, now), users)


def refresh_fairshare(backend):
    """Store the factors and push each one that changed to its user's pages."""
    factors = {user_id: round(factor, 4) for user_id, factor in current_factors(backend).items()}
    client = get_redis()
    stored = {int(key): float(value) for key, value in client.hgetall(_key()).items()}
    changed = {user_id: factor for user_id, factor in factors.items() if stored.get(user_id) != factor}
    if changed:
        client.hset(_key(), mapping=changed)
    for user_id, factor in changed.items():
        events.publish_to_user(user_id, events.QUOTA_CHANGED, {"fairshare": factor})
    refresh_priorities(backend)
    return factors


def refresh_priorities(backend):
    """Store each waiting job's priority and its fair-share part, where the backend reports them."""
    from .poller import publish_job

    if not hasattr(backend, "priorities"):
        return
    waiting = list(Job.objects.filter(backend=backend.name, state=JobState.PENDING).exclude(scheduler_job_id=""))
    if not waiting:
        return
    figures = backend.priorities()
    for job in waiting:
        priority, fairshare_part = figures.get(job.scheduler_job_id, (None, None))
        if (job.priority, job.fairshare_priority) == (priority, fairshare_part):
            continue
        job.priority, job.fairshare_priority = priority, fairshare_part
        job.save(update_fields=["priority", "fairshare_priority", "updated_at"])
        publish_job(job)


def fairshare_of(user_id):
    """Return the user's last stored factor, or None before the first refresh."""
    try:
        value = get_redis().hget(_key(), user_id)
    except RedisError:
        return None
    return float(value) if value is not None else None
