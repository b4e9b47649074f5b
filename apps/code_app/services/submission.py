"""Submitting and cancelling jobs: the rules shared by the API and the pages."""

import logging

from django.db import transaction
from redis.exceptions import LockError, RedisError

from apps.core.exceptions import JobLimitExceeded, JobNotCancellable, SchedulerUnavailable
from apps.core.metrics import JOB_LIMIT_REACHED, record_admission, record_rejection
from apps.core.quotas import job_caps_for, push_job_caps
from apps.core.redis import get_redis, redis_key

from ..models import Job, JobState
from ..schedulers.base import get_backend
from .jobspec import validate_job_spec
from .poller import publish_job
from .workspace import save_script

logger = logging.getLogger(__name__)

SUBMIT_LOCK_TIMEOUT = 120
SUBMIT_LOCK_WAIT = 30


def submit_job(user, data, files=None):
    """Validate, admit and submit one job; return the stored Job.

    The per-user count of submitted jobs is checked and the new job stored
    under a Redis lock per user, so simultaneous submissions from any number
    of web processes admit exactly up to the limit.
    """
    spec = validate_job_spec(user.pk, data, files)
    lock = get_redis().lock(
        redis_key("submit-lock", user.pk), timeout=SUBMIT_LOCK_TIMEOUT, blocking_timeout=SUBMIT_LOCK_WAIT
    )
    try:
        acquired = lock.acquire()
    except RedisError as exc:
        raise SchedulerUnavailable(f"Job admission is unavailable because Redis is unreachable: {exc}.") from exc
    if not acquired:
        raise SchedulerUnavailable("Job admission is busy with your other submissions; try again in a minute.")
    try:
        job = _admit_and_submit(user, spec)
    finally:
        try:
            lock.release()
        except (LockError, RedisError):
            logger.warning("submit lock of user %s expired before release", user.pk)
    publish_job(job)
    push_job_caps(user.pk)
    return job


def _admit_and_submit(user, spec):
    limit = job_caps_for(user.pk)["max_submitted"]
    in_use = Job.objects.for_owner(user).active().count()
    if in_use >= limit:
        record_rejection("job", user.pk, JOB_LIMIT_REACHED)
        raise JobLimitExceeded(
            f"You already have {in_use} submitted jobs, the most allowed at once is {limit}; "
            "wait for some to finish or cancel some.",
            limit=limit,
            in_use=in_use,
        )

    script_path = spec.script_path
    if spec.script_content:
        script_path = save_script(user.pk, spec.script_filename, spec.script_content)
    backend = get_backend()
    with transaction.atomic():
        job = Job.objects.create(
            owner=user,
            backend=backend.name,
            name=spec.name,
            partition=spec.partition,
            cpus=spec.cpus,
            memory_gb=spec.memory_gb,
            time_limit_minutes=spec.time_limit_minutes,
            script_path=script_path,
            environment=spec.environment,
        )
    # Submitted outside the transaction: a scheduler that fails leaves the
    # row, which is then marked failed with the reason below.
    try:
        job.scheduler_job_id = backend.submit(job, spec)
    except Exception as exc:
        job.state = JobState.FAILED
        job.pending_reason = "SubmitFailed"
        job.save(update_fields=["state", "pending_reason", "updated_at"])
        logger.warning("submitting job %s of user %s failed: %s", job.pk, user.pk, exc)
        raise
    job.save(update_fields=["scheduler_job_id", "updated_at"])
    logger.info(
        "user %s submitted job %s (%s, partition %s, %s CPUs, %s GB, %s min), scheduler id %s",
        user.pk, job.pk, job.name, job.partition, job.cpus, job.memory_gb,
        job.time_limit_minutes, job.scheduler_job_id,
    )
    record_admission("job", user.pk)
    return job


def cancel_job(job):
    """Request cancellation; the poller records the final state."""
    if job.is_final:
        raise JobNotCancellable(f"Job {job.pk} already ended as {job.state}; there is nothing to cancel.")
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    job.cancel_requested = True
    get_backend(job.backend).cancel(job)
    logger.info("user %s requested cancellation of job %s", job.owner_id, job.pk)
    return job
