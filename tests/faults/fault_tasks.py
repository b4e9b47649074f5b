"""A Celery task for fault tests, loaded into test workers with ``--include``.

Each attempt appends a ``start`` line to the file named in its record's
input, sleeps, and appends a ``finish`` line. A test can so kill the worker
mid-task and count how often the task started and finished.
"""

import os
import time
from pathlib import Path

from celery import shared_task

from apps.core.celery_base import RecordedTask
from apps.core.models import TaskRecord

NAME = "tests.faults.fault_tasks.record_attempts"


def append_line(path, text):
    with open(path, "a") as file:
        file.write(text + "\n")


@shared_task(base=RecordedTask, bind=True, name=NAME)
def record_attempts(self, record_id):
    task_input = TaskRecord.objects.get(pk=record_id).input
    attempt = f"{self.request.hostname} {os.getpid()}"
    append_line(task_input["log"], f"start {attempt}")
    time.sleep(task_input["seconds"])
    append_line(task_input["log"], f"finish {attempt}")
    return {"finished_by": attempt}


def attempts(path):
    """Return [(event, hostname, pid)] from the file the task writes."""
    path = Path(path)
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines()]
