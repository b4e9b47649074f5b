"""Publishing events to the pages over the channel layer.

Group names and event types are built here only, so the senders (views, the
poller, Celery tasks) and the consumers cannot drift apart.

Each group is one stream with its own sequence number (``seq``), counted in
Redis so that every publishing process shares it. The channel layer delivers
at most once, so a page that finds a number skipped has missed an event
and asks for a fresh snapshot.

Sync callers without an event loop of their own (the poller, Celery workers)
publish through one background event loop per process, so each process keeps
one Redis connection instead of opening one per event.
"""

import asyncio
import logging
import os
import threading

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

JOB_CHANGED = "job.changed"
QUOTA_CHANGED = "quota.changed"
TASK_CHANGED = "task.changed"
SCHEDULER_STATUS = "scheduler.status"
SNAPSHOT_NEEDED = "snapshot.needed"
PUBLISH_TIMEOUT = 5.0


def user_group(user_id):
    return f"user.{user_id}"


CONSOLE_GROUP = "console"


class _LoopThread:
    """An event loop running in a daemon thread, recreated after fork."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loop = None
        self._pid = None

    def loop(self):
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                self._loop = asyncio.new_event_loop()
                self._pid = os.getpid()
                thread = threading.Thread(
                    target=self._loop.run_forever, name="event-publisher", daemon=True
                )
                thread.start()
            return self._loop


_publisher_loop = _LoopThread()


async def apublish(group, event_type, payload):
    """Send one event to every socket in ``group``."""
    layer = get_channel_layer()
    await layer.group_send(group, {"type": event_type, **payload})


def sequence_key(group):
    from .redis import redis_key

    return redis_key("seq", group)


def next_sequence(group):
    from .redis import get_redis

    return get_redis().incr(sequence_key(group))


def current_sequence(group):
    """Return the stream's last sequence number; events after a snapshot taken now are newer."""
    from .redis import get_redis

    return int(get_redis().get(sequence_key(group)) or 0)


def publish(group, event_type, payload):
    """Send one event from sync code; return False if that failed.

    Never raises, because a page heals on reconnect.
    """
    try:
        payload = {**payload, "seq": next_sequence(group)}
        future = asyncio.run_coroutine_threadsafe(
            apublish(group, event_type, payload), _publisher_loop.loop()
        )
        future.result(timeout=PUBLISH_TIMEOUT)
    except Exception:
        logger.exception("publishing %s to group %s failed", event_type, group)
        return False
    return True


def publish_to_user(user_id, event_type, payload):
    return publish(user_group(user_id), event_type, payload)
