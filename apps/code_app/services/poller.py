"""One scheduler poll: ask about every tracked job at once, store changes, publish them."""

import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core import events
from apps.core.health import record_poller_heartbeat
from apps.core.quotas import push_job_caps

from ..models import FINAL_STATES, Job, JobState
from ..serializers import job_payload
from .fairshare import REFRESH_SECONDS, refresh_fairshare
from .scheduler_status import get_scheduler_status, set_scheduler_status

logger = logging.getLogger(__name__)

_TRACKED_FIELDS = (
    "state", "pending_reason", "queue_position", "exit_code", "exit_signal", "start_time", "end_time",
)


def publish_job(job):
    """Send the job to its owner's pages and to the console; return False if either failed."""
    payload = job_payload(job)
    to_owner = events.publish_to_user(job.owner_id, events.JOB_CHANGED, {"job": payload})
    to_console = events.publish(events.CONSOLE_GROUP, events.JOB_CHANGED, {"job": payload, "owner_id": job.owner_id})
    return to_owner and to_console


# Ids of jobs whose last change could not be published, for example while
# Redis was down. An open page would otherwise show such a job in its old
# state until it reconnects, because no later event names it. The poller is
# a single process, so this set lives in its memory.
_unpublished = set()


def publish_unpublished():
    """Publish the current state of the jobs whose change failed to publish; stop at the first failure."""
    jobs = Job.objects.in_bulk(sorted(_unpublished))
    for job_id in sorted(_unpublished):
        job = jobs.get(job_id)
        if job is not None and not publish_job(job):
            return
        _unpublished.discard(job_id)


def apply_status(job, status):
    """Store what changed in ``job`` from ``status``; return True if anything did.

    A final state is never left again, so a late or repeated report cannot
    bring a finished job back.
    """
    if job.state in FINAL_STATES:
        return False
    changes = {
        "state": status.state,
        "pending_reason": status.reason if status.state == JobState.PENDING else "",
        "queue_position": status.queue_position if status.state == JobState.PENDING else None,
        "exit_code": status.exit_code if status.state in FINAL_STATES else job.exit_code,
        "exit_signal": status.exit_signal if status.state in FINAL_STATES else job.exit_signal,
        "start_time": status.start_time or job.start_time,
        "end_time": status.end_time or job.end_time,
    }
    changed = [name for name in _TRACKED_FIELDS if getattr(job, name) != changes[name]]
    if not changed:
        return False
    for name in changed:
        setattr(job, name, changes[name])
    job.save(update_fields=[*changed, "updated_at"])
    if "state" in changed:
        logger.info("job %s (scheduler id %s) of user %s is %s", job.pk, job.scheduler_job_id, job.owner_id, job.state)
    return True


# A start or an end that a poll finds this long after it happened is
# something the push path should have delivered already.
REPAIR_AGE_SECONDS = 5.0


def push_should_have_reported(backend, job, previous_state):
    if not (settings.SLURM_PUSH and backend.name == "slurm") or job.state == previous_state:
        return False
    if job.state in FINAL_STATES:
        moment = job.end_time
    elif job.state == JobState.RUNNING:
        moment = job.start_time
    else:
        return False
    return moment is not None and (timezone.now() - moment).total_seconds() > REPAIR_AGE_SECONDS


def poll_once(backend):
    """Run one tick: schedule, poll every active job, store and publish changes.

    Return the number of jobs that changed.
    """
    jobs = list(Job.objects.active().exclude(scheduler_job_id="").order_by("pk"))
    backend.schedule(jobs)
    statuses = backend.poll(jobs)

    changed = []
    for job in jobs:
        status = statuses.get(job.pk)
        if status is None:
            continue
        previous_state = job.state
        with transaction.atomic():
            if apply_status(job, status):
                changed.append((job, previous_state))
    if _unpublished:
        publish_unpublished()
    for job, previous_state in changed:
        if not publish_job(job):
            _unpublished.add(job.pk)
        if push_should_have_reported(backend, job, previous_state):
            from .push import count_repair

            count_repair(job, previous_state)
    for owner_id in {job.owner_id for job, previous_state in changed if job.state != previous_state}:
        push_job_caps(owner_id)
    return len(changed)


MAX_BACKOFF = 30.0


def run_forever(backend, interval, *, stop=lambda: False):
    """Poll every ``interval`` seconds until ``stop()`` is true.

    While polls fail, the wait doubles up to MAX_BACKOFF and the pages show
    the job states as stale; no job changes state on a failed poll.
    """
    logger.info("poller started with the %s scheduler, every %.1f s", backend.name, interval)
    failures = 0
    next_fairshare = 0.0
    if get_scheduler_status()["stale"]:
        set_scheduler_status(stale=False)
    while not stop():
        started = time.monotonic()
        try:
            poll_once(backend)
        except Exception as exc:
            failures += 1
            delay = min(interval * 2**failures, MAX_BACKOFF)
            logger.warning("poll %s failed (%s); trying again in %.1f s", failures, exc, delay, exc_info=failures == 1)
            record_poller_heartbeat(backend, reached_scheduler=False)
            if failures == 1:
                set_scheduler_status(stale=True, error=str(exc))
        else:
            record_poller_heartbeat(backend, reached_scheduler=True)
            if failures:
                logger.info("the %s scheduler responds again after %s failed polls", backend.name, failures)
                set_scheduler_status(stale=False)
            failures = 0
            delay = interval
            if time.monotonic() >= next_fairshare:
                next_fairshare = time.monotonic() + REFRESH_SECONDS
                try:
                    refresh_fairshare(backend)
                except Exception:
                    logger.exception("refreshing fair-share factors failed")
        _sleep_until(started + delay, stop)
    logger.info("poller stopped")


def _sleep_until(deadline, stop):
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, max(deadline - time.monotonic(), 0.0)))
