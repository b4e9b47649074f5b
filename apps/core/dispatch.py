"""Sending async work: admission first, then a record, then the task after commit."""

import logging

from django.db import transaction

from . import events
from .models import TaskRecord
from .quotas import admit
from .router import Tier, route

logger = logging.getLogger(__name__)


def task_payload(record):
    return {
        "task_id": str(record.task_id),
        "kind": record.kind,
        "state": record.state,
        "result": record.result,
        "error": record.error,
        "attempts": record.attempts,
        "job_id": record.job_id,
        "created_at": record.created_at.isoformat() if record.created_at else None,
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
    }


def publish_task(record):
    events.publish_to_user(record.owner_id, events.TASK_CHANGED, {"task": task_payload(record)})


def enqueue(user, kind, task, *, input=None, size=1, quota_kind=None):
    """Admit and enqueue one task of ``kind`` for ``user``; return its TaskRecord.

    Raises QuotaExceeded (nothing stored, nothing sent) when the user's rate
    for ``quota_kind`` (default: ``kind``) is spent. The task is sent only
    after the record is committed, with the record's id as its one argument.
    """
    tier = route(kind, size)
    if tier is not Tier.ASYNC:
        raise ValueError(f"{size} item(s) of {kind} go to the {tier.value} tier, not to Celery")
    if quota_kind is not False:
        admit(user, quota_kind or kind)

    with transaction.atomic():
        record = TaskRecord.objects.create(owner=user, kind=kind, task_name=task.name, input=input or {})
        transaction.on_commit(
            lambda: task.apply_async(args=[record.pk], task_id=str(record.task_id))
        )
    logger.info("user %s enqueued task %s (%s) as %s", user.pk, record.task_id, kind, task.name)
    publish_task(record)
    return record
