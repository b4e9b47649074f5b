import logging
import time

from celery import shared_task

from .redis import get_redis, redis_key

logger = logging.getLogger(__name__)

HEARTBEAT_TTL = 120


@shared_task(ignore_result=True)
def record_heartbeat():
    """Record that a worker consumed a task recently; health checks read this key."""
    get_redis().set(redis_key("worker-heartbeat"), time.time(), ex=HEARTBEAT_TTL)


@shared_task(ignore_result=True)
def refresh_console():
    """Push fresh fairness console figures to open consoles; does nothing while none is open."""
    from apps.dashboard.console_state import publish_console_refresh

    publish_console_refresh()
