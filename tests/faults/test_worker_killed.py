"""A Celery worker killed in the middle of a task: the task runs again elsewhere and finishes once.

Tasks are acknowledged late and rejected when their worker is lost
(RecordedTask: ``acks_late``, ``reject_on_worker_lost``). Two ways to lose one:

- the pool process running the task dies: the worker's main process rejects
  the message back to the queue at once;
- the whole worker dies: no process rejects the message, so it stays in
  Redis's unacked set until ``visibility_timeout`` passes and a worker's
  restore sweep puts it back on the queue.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import ROOT, wait_until
from .fault_tasks import NAME, attempts

pytestmark = pytest.mark.faults

INCLUDE = ("tests.faults.fault_tasks",)
# The smallest visibility timeout the settings accept (CELERY_VISIBILITY_TIMEOUT
# has a minimum of 60 s). Redis-backed Celery redelivers a message whose worker
# died without rejecting it only after this long, so the second test waits it out.
VISIBILITY_TIMEOUT = 60

ENQUEUE = """
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from apps.core.models import TaskRecord
from project.celery import app

owner = get_user_model().objects.get(username="demo")
record = TaskRecord.objects.create(owner=owner, kind="fault_test", task_name=sys.argv[1], input=json.loads(sys.argv[2]))
app.send_task(sys.argv[1], args=[record.pk], task_id=str(record.task_id))
print(record.pk)
"""


def enqueue(system, log_path, seconds):
    """Store a TaskRecord of the fault task and send the task; return the record id."""
    task_input = json.dumps({"log": str(log_path), "seconds": seconds})
    result = subprocess.run(
        [sys.executable, "-c", ENQUEUE, NAME, task_input], cwd=ROOT,
        env={**system.env, "DJANGO_SETTINGS_MODULE": "project.settings"},
        check=True, capture_output=True, text=True, timeout=60,
    )
    return int(result.stdout.split()[-1])


def started(log_path):
    return [entry for entry in attempts(log_path) if entry[0] == "start"]


def finished(log_path):
    return [entry for entry in attempts(log_path) if entry[0] == "finish"]


def worker_env():
    return {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}


def test_task_reruns_after_pool_process_killed(system, tmp_path):
    system.start_worker("first", include=INCLUDE, **worker_env())
    system.start_worker("second", include=INCLUDE, **worker_env())
    log_path = tmp_path / "attempts.txt"

    record_id = enqueue(system, log_path, seconds=5)
    first = wait_until(lambda: started(log_path), timeout=30, message="the task started")[0]
    os.kill(int(first[2]), signal.SIGKILL)

    record = wait_until(
        lambda: (record := system.task_record(record_id))["state"] == "SUCCESS" and record,
        timeout=60, message="the task record SUCCESS",
    )
    time.sleep(2)
    assert len(started(log_path)) == 2, system.logs()
    retry = started(log_path)[1]
    assert retry[2] != first[2]
    assert finished(log_path) == [("finish", *retry[1:])]
    assert record["attempts"] == 2
    assert record["result"] == {"finished_by": " ".join(retry[1:])}
    assert system.task_record(record_id)["attempts"] == 2


def test_task_reruns_on_other_worker_after_worker_killed(system, tmp_path):
    first_worker = system.start_worker("first", include=INCLUDE, **worker_env())
    log_path = tmp_path / "attempts.txt"

    record_id = enqueue(system, log_path, seconds=4)
    wait_until(lambda: started(log_path), timeout=30, message="the task started")
    delivered_by = time.monotonic()
    first_worker.kill()
    time.sleep(5)
    assert finished(log_path) == []
    assert system.task_record(record_id)["state"] == "STARTED"

    # A worker sweeps the unacked messages when it starts and then only every
    # 100 s (kombu 5.7: unacked_restore_interval 10 s times
    # unacked_restore_throttle 10). So the second worker starts once the
    # message is past its visibility timeout, as a worker that a process
    # manager restarts would.
    time.sleep(max(delivered_by + VISIBILITY_TIMEOUT + 2 - time.monotonic(), 0))
    system.start_worker("second", include=INCLUDE, **worker_env())

    record = wait_until(
        lambda: (record := system.task_record(record_id))["state"] == "SUCCESS" and record,
        timeout=60, message="the task record SUCCESS",
    )
    time.sleep(2)
    hostnames = [entry[1].split("@")[0] for entry in started(log_path)]
    assert hostnames == ["first", "second"], system.logs()
    assert [entry[1].split("@")[0] for entry in finished(log_path)] == ["second"]
    assert record["attempts"] == 2
    assert record["result"]["finished_by"].startswith("second@")
    assert system.task_record(record_id)["attempts"] == 2
