"""Whether the job states on the pages are current: the poller marks them stale
while the scheduler does not answer, and current again when it does."""

import json
import logging
import time

from redis.exceptions import RedisError

from apps.core import events
from apps.core.redis import get_redis, redis_key

from ..models import Job

logger = logging.getLogger(__name__)


def _key():
    return redis_key("scheduler-status")


def get_scheduler_status():
    """Return {"stale": bool, "since": epoch or None, "error": str}."""
    try:
        raw = get_redis().get(_key())
    except RedisError:
        return {"stale": True, "since": None, "error": "Redis is unreachable"}
    if not raw:
        return {"stale": False, "since": None, "error": ""}
    return json.loads(raw)


def set_scheduler_status(*, stale, error=""):
    """Store the status and push it to every user with active jobs."""
    status = {"stale": stale, "since": time.time(), "error": error}
    try:
        get_redis().set(_key(), json.dumps(status))
    except RedisError as exc:
        logger.warning("storing the scheduler status failed: %s", exc)
    owners = Job.objects.active().values_list("owner_id", flat=True).distinct()
    for owner_id in owners:
        events.publish_to_user(owner_id, events.SCHEDULER_STATUS, {"status": status})
