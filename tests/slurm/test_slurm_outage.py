"""The Slurm controller stops for a while: the poller backs off, marks states stale, ends no job, catches up."""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from apps.code_app.models import Job
from apps.code_app.schedulers.base import get_backend
from apps.code_app.services.poller import run_forever
from apps.code_app.services.scheduler_status import get_scheduler_status
from apps.code_app.services.submission import submit_job

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("cancel_leftover_jobs"),
]

ROOT = Path(__file__).resolve().parents[2]
PID_FILE = Path("/run/slurm/slurmctld.pid")


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout} s")


def current_cluster_env():
    """Return the SLURM_ENV of the running cluster.

    cluster.sh reads SLURM_ENV (dev or ci), and each environment keeps its own
    controller state, so a restart must use the running cluster's, which is
    named after it.
    """
    config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=20).stdout
    for line in config.splitlines():
        if line.startswith("ClusterName"):
            return line.split("=", 1)[1].strip()
    return os.environ.get("SLURM_ENV", "dev")


def controller_answers():
    return subprocess.run(["scontrol", "ping"], capture_output=True, timeout=20).returncode == 0


@pytest.fixture
def poller(settings):
    settings.SLURM_COMMAND_TIMEOUT = 5
    stopping = threading.Event()

    def run():
        try:
            run_forever(get_backend(), 0.5, stop=stopping.is_set)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stopping.set()
    thread.join(timeout=30)


@pytest.fixture
def restart_controller_afterwards():
    cluster_env = {**os.environ}
    yield cluster_env
    if not controller_answers():
        subprocess.run(["bash", str(ROOT / "deployment/slurm/cluster.sh"), "up"], check=True, timeout=300,
                       capture_output=True, env=cluster_env)


def test_controller_outage_marks_stale_and_catches_up(owner, poller, restart_controller_afterwards):
    restart_controller_afterwards["SLURM_ENV"] = current_cluster_env()
    job = submit_job(owner, {"script": "#!/bin/bash\nsleep 6\n"})
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "RUNNING", 60)

    os.kill(int(PID_FILE.read_text().split()[0]), signal.SIGTERM)
    wait_for(lambda: get_scheduler_status()["stale"], 60)
    # The job ends on the node while the controller is away; nothing may
    # mark it finished from a failed poll.
    time.sleep(10)
    assert Job.objects.get(pk=job.pk).state == "RUNNING"
    assert get_scheduler_status()["stale"]

    subprocess.run(["bash", str(ROOT / "deployment/slurm/cluster.sh"), "up"], check=True, timeout=300,
                   capture_output=True, env=restart_controller_afterwards)

    wait_for(lambda: Job.objects.get(pk=job.pk).state == "COMPLETED", 90)
    wait_for(lambda: not get_scheduler_status()["stale"], 30)
    assert Job.objects.get(pk=job.pk).exit_code == 0
