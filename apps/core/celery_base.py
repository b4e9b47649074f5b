"""The base class of every recorded Celery task.

It keeps the task's TaskRecord in step with Celery (STARTED, RETRY, SUCCESS,
FAILURE), publishes each change to the owner's pages, returns early when the
record is already final (a redelivered message after a worker crash), and
enforces the per-task-type rate limit for all workers together: when that
limit is spent the task is sent again with a countdown instead of holding a
worker slot while it waits.
"""

import logging

from celery import Task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .dispatch import publish_task
from .models import TaskRecord, TaskState
from .ratelimit import RateLimitPolicy

logger = logging.getLogger(__name__)


class RateLimitWait(Exception):
    """The platform-wide limit of this task type is spent for now."""


class RecordedTask(Task):
    abstract = True
    acks_late = True
    reject_on_worker_lost = True
    # Celery's retry(max_retries=None) means "the task's default", not "no
    # limit", so waits for the platform-wide limit would stop after the
    # default 3. Tasks that retry a provider count their own attempts.
    max_retries = None

    def __call__(self, record_id, *args, **kwargs):
        record = TaskRecord.objects.filter(pk=record_id).first()
        if record is None:
            logger.warning("task %s: record %s no longer exists; skipping", self.request.id, record_id)
            return None
        if record.is_final:
            logger.info("task %s is already %s; not running it again", record.task_id, record.state)
            return record.result

        wait = self.cluster_wait()
        if wait:
            self._mark(record, TaskState.RETRY, error=f"waiting {wait} s for the platform-wide {self.name} limit")
            raise self.retry(countdown=wait, max_retries=None, exc=RateLimitWait(wait))

        self._mark(record, TaskState.STARTED, started=True)
        return super().__call__(record_id, *args, **kwargs)

    def cluster_wait(self):
        """Return seconds to wait for the platform-wide limit of this task type, or 0."""
        from .quotas import get_limiter

        rate = settings.TASK_RATE_LIMITS.get(self.name)
        if not rate:
            return 0
        kind = "task-" + self.name.rsplit(".", 1)[-1]
        decision = get_limiter().hit(kind, "all", RateLimitPolicy.parse(rate))
        return 0 if decision.allowed else decision.retry_after_seconds

    def on_success(self, retval, task_id, args, kwargs):
        record = TaskRecord.objects.filter(pk=args[0]).first()
        if record is not None and not record.is_final:
            self._mark(record, TaskState.SUCCESS, result=retval, finished=True)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        record = TaskRecord.objects.filter(pk=args[0]).first()
        if record is not None and not record.is_final:
            self._mark(record, TaskState.FAILURE, error=str(exc) or exc.__class__.__name__, finished=True)
            logger.warning("task %s (%s) of user %s failed: %s", record.task_id, record.kind, record.owner_id, exc)

    def on_retry(self, exc, task_id, args, kwargs, einfo):
        if isinstance(exc, RateLimitWait):
            return
        record = TaskRecord.objects.filter(pk=args[0]).first()
        if record is not None and not record.is_final:
            self._mark(record, TaskState.RETRY, error=str(exc))

    def _mark(self, record, state, *, result=None, error="", started=False, finished=False):
        now = timezone.now()
        record.state = state
        record.error = error
        fields = ["state", "error"]
        if result is not None:
            record.result = result
            fields.append("result")
        if started:
            record.started_at = now
            record.attempts += 1
            fields += ["started_at", "attempts"]
        if finished:
            record.finished_at = now
            fields.append("finished_at")
        with transaction.atomic():
            record.save(update_fields=fields)
        publish_task(record)
