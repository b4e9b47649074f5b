"""Job states pushed by Slurm itself, read from a Redis stream and applied to the jobs.

Slurm's hooks (deployment/slurm/hooks/slurm-push-event) append an event to
the stream when a job gets its allocation ("started") and when it reaches a
final state ("final", with the state, exit code and times). The consumer
reads the stream from its last stored position, so events written while it
was down are applied when it starts. Applying is idempotent and a final
state is never left, so repeated, late and out-of-order events do no harm.
The poller stays as the safety net and counts what it had to repair.
"""

import json
import logging
import time
from datetime import datetime, timezone

from django.db import transaction
from redis.exceptions import RedisError

from apps.core.redis import get_redis, redis_key

from ..models import Job, JobState
from ..schedulers.base import JobStatus
from ..schedulers.slurm_parse import PENDING_STATES, SlurmParseError, parse_exit_code
from .poller import apply_status, poll_once, publish_job

logger = logging.getLogger(__name__)

READ_BLOCK_MS = 5000
READ_COUNT = 200
MAX_BACKOFF = 30.0


def stream_key():
    return redis_key("slurm-events")


def position_key():
    return redis_key("slurm-events", "position")


def repairs_key():
    return redis_key("slurm-events", "repairs")


def _epoch(value):
    return datetime.fromtimestamp(value, timezone.utc) if value else None


def event_status(job, event):
    """Return the JobStatus an event means for ``job``, or None for an event to ignore."""
    kind = event.get("event")
    if kind == "started":
        return JobStatus(state=JobState.RUNNING, start_time=job.start_time or _epoch(event.get("ts")))
    if kind != "final":
        return None
    state = str(event.get("state", ""))
    if state in PENDING_STATES:
        # A requeue: the job waits again and will start once more.
        return JobStatus(state=JobState.PENDING, reason="Requeued")
    try:
        exit_code, exit_signal = parse_exit_code(str(event.get("exit_code", "")))
    except SlurmParseError:
        exit_code, exit_signal = None, None
    start = _epoch(event.get("start"))
    if state == JobState.CANCELLED and job.start_time is None and job.state == JobState.PENDING:
        # Slurm reports start = end for a job cancelled while pending; it never ran.
        start = None
    return JobStatus(
        state=state,
        exit_code=exit_code,
        exit_signal=exit_signal,
        start_time=start or job.start_time,
        end_time=_epoch(event.get("end")),
    )


def apply_event(event):
    """Apply one event to the job it names; return the job if it changed, else None."""
    job_id = event.get("job_id")
    if not isinstance(job_id, int):
        return None
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(backend="slurm", scheduler_job_id=str(job_id)).first()
        if job is None:
            return None
        status = event_status(job, event)
        if status is None or not apply_status(job, status):
            return None
    logger.info("push: job %s (Slurm %s) of user %s is %s", job.pk, job_id, job.owner_id, job.state)
    return job


def count_repair(job, previous_state):
    """Count a change the poller found that push should have delivered, and log it."""
    try:
        get_redis().incr(repairs_key())
    except RedisError:
        pass
    logger.warning(
        "poll repaired job %s (Slurm %s) of user %s: %s -> %s was not pushed",
        job.pk, job.scheduler_job_id, job.owner_id, previous_state, job.state,
    )


class PushConsumer:
    """Reads the event stream and applies it; repairs by polling on start and after reconnects."""

    def __init__(self, backend, *, block_ms=READ_BLOCK_MS):
        self.backend = backend
        self.block_ms = block_ms
        self.applied = 0

    def last_position(self):
        value = get_redis().get(position_key())
        return value.decode() if value else "0-0"

    def repair(self):
        try:
            changed = poll_once(self.backend)
        except Exception:
            logger.exception("repair poll failed; the poller will retry")
            return
        logger.info("push consumer repair poll changed %s jobs", changed)

    def read_once(self, position):
        """Apply the next batch after ``position``; return the new position."""
        reply = get_redis().xread({stream_key(): position}, count=READ_COUNT, block=self.block_ms)
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                self.handle(entry_id, fields)
                position = entry_id.decode()
                # Stored after each event: a crash replays at most the one
                # event being applied, which applying again leaves unchanged.
                get_redis().set(position_key(), position)
        return position

    def handle(self, entry_id, fields):
        try:
            event = json.loads(fields[b"event"])
        except (KeyError, ValueError):
            logger.warning("push: skipped malformed stream entry %s", entry_id.decode())
            return
        job = apply_event(event)
        if job is not None:
            self.applied += 1
            publish_job(job)

    def run(self, stop=lambda: False):
        logger.info("push consumer reading %s", stream_key())
        failures = 0
        position = None
        while not stop():
            try:
                if position is None:
                    position = self.last_position()
                    self.repair()
                position = self.read_once(position)
                failures = 0
            except RedisError as exc:
                failures += 1
                delay = min(0.5 * 2**failures, MAX_BACKOFF)
                logger.warning("push consumer lost Redis (%s); retrying in %.1f s", exc, delay)
                # Reread the stored position and repair by polling once Redis answers.
                position = None
                _sleep(delay, stop)
        logger.info("push consumer stopped after applying %s events", self.applied)


def _sleep(seconds, stop):
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(0.1)
