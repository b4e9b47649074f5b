"""The slurm backend on a real cluster: lifecycle, caps, history and fair-share."""

import subprocess
import time

import pytest
from channels.db import database_sync_to_async

from apps.code_app.models import Job
from apps.code_app.schedulers.base import get_backend
from apps.code_app.services.fairshare import refresh_fairshare
from apps.code_app.services.submission import submit_job
from apps.core import fairness
from apps.core.exceptions import JobLimitExceeded
from tests.conftest import poll_until, wait_for_state

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("cancel_leftover_jobs"),
]

SUBMIT = "/code/api/jobs/submit/"


def submit_script(client, script, **fields):
    response = client.post(SUBMIT, {"script": script, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["job_id"]


def squeue_ids():
    output = subprocess.run(
        ["squeue", "--noheader", "--states=all", "--format=%A"], capture_output=True, text=True, timeout=20, check=True
    ).stdout
    return set(output.split())


def test_job_completes_through_poller_with_output(owner_client):
    job_id = submit_script(owner_client, "import time\ntime.sleep(3)\nprint('on slurm', 6 * 7)\n", name="answer")

    states = []
    poll_until(lambda: states.append(Job.objects.get(pk=job_id).state) or states[-1] == "COMPLETED", timeout=60)

    job = Job.objects.get(pk=job_id)
    assert job.scheduler_job_id.isdigit()
    assert "RUNNING" in states
    assert job.exit_code == 0
    assert owner_client.get(f"/code/api/jobs/{job_id}/output/").json()["stdout"] == "on slurm 42\n"


def test_failed_job_keeps_exit_code(owner_client):
    job_id = submit_script(owner_client, "#!/bin/bash\necho bad >&2\nexit 3\n")

    job = wait_for_state(job_id, "FAILED", timeout=60)

    assert job.exit_code == 3
    assert owner_client.get(f"/code/api/jobs/{job_id}/output/").json()["stderr"] == "bad\n"


def test_cancel_running_job(owner_client):
    job_id = submit_script(owner_client, "#!/bin/bash\nsleep 300\n")
    wait_for_state(job_id, "RUNNING", timeout=60)

    assert owner_client.post(f"/code/api/jobs/{job_id}/cancel/").status_code == 202

    wait_for_state(job_id, "CANCELLED", timeout=60)


def test_job_past_time_limit_ends_timeout(owner_client):
    job_id = submit_script(owner_client, "#!/bin/bash\nsleep 600\n", time_limit="1")

    job = wait_for_state(job_id, "TIMEOUT", timeout=150)

    assert (job.end_time - job.start_time).total_seconds() >= 60


def test_eleventh_job_waits_with_slurm_reason_and_twenty_first_is_rejected(owner, owner_client):
    ids = [submit_script(owner_client, "#!/bin/bash\nsleep 300\n", name=f"hold{i}") for i in range(20)]

    poll_until(lambda: Job.objects.filter(pk__in=ids, state="RUNNING").count() == 10, timeout=60)
    poll_until(
        lambda: set(Job.objects.filter(pk__in=ids, state="PENDING").values_list("pending_reason", flat=True))
        == {"AssocMaxJobsLimit"},
        timeout=60,
    )
    rejected = owner_client.post(SUBMIT, {"script": "print(21)\n"}, format="json")

    assert rejected.status_code == 429
    assert rejected.json()["error"] == "job_limit_reached"
    assert Job.objects.filter(pk__in=ids, state="PENDING").count() == 10
    positions = sorted(Job.objects.filter(pk__in=ids, state="PENDING").values_list("queue_position", flat=True))
    assert positions == list(range(1, 11))
    refresh_fairshare(get_backend())
    figures = Job.objects.filter(pk__in=ids, state="PENDING").values_list("priority", "fairshare_priority")
    assert all(priority is not None and part is not None and part <= priority for priority, part in figures)


def test_slurm_itself_rejects_the_twenty_first_submission(owner, owner_client):
    for index in range(20):
        submit_script(owner_client, "#!/bin/bash\nsleep 300\n", name=f"cap{index}")
    extra = Job.objects.create(
        owner=owner, backend="slurm", name="extra", partition="normal", cpus=1, memory_gb=1,
        time_limit_minutes=5, script_path=Job.objects.filter(owner=owner).first().script_path,
    )

    with pytest.raises(JobLimitExceeded, match="Slurm refused the job: you already have the most submitted jobs"):
        get_backend().submit(extra, None)


def test_finished_job_history_comes_from_sacct(owner_client):
    job_id = submit_script(owner_client, "#!/bin/bash\nexit 4\n")
    job = wait_for_state(job_id, "FAILED", timeout=60)

    history = poll_until(lambda: get_backend().accounting([job.scheduler_job_id]).get(job.scheduler_job_id), timeout=30)

    assert history.state == "FAILED"
    assert history.exit_code == 4
    assert history.start_time is not None


def test_other_users_jobs_never_appear(owner, other_user, owner_client):
    job_id = submit_script(owner_client, "#!/bin/bash\nsleep 30\n")
    wait_for_state(job_id, "RUNNING", timeout=60)

    statuses = get_backend().poll(list(Job.objects.filter(owner=other_user)))

    assert statuses == {}


@pytest.mark.asyncio
async def test_dashboard_socket_receives_slurm_state_changes(owner):
    from tests.integration.test_dashboard_socket import connect, receive_until

    communicator, connected, _ = await connect(owner)
    assert connected
    await communicator.receive_from(timeout=5)

    job = await database_sync_to_async(submit_job)(owner, {"script": "import time\ntime.sleep(2)\n"})

    running = await receive_until(communicator, f'id="job-{job.pk}" data-state="RUNNING"', timeout=60)
    assert "RUNNING" in running
    await receive_until(communicator, f'id="job-{job.pk}" data-state="COMPLETED"', timeout=60)
    await communicator.disconnect()


def test_fair_share_drops_for_the_heavier_user(owner, other_user, owner_client):
    ids = [submit_script(owner_client, "#!/bin/bash\nsleep 45\n", cpus=4, name=f"heavy{i}") for i in range(4)]
    poll_until(lambda: Job.objects.filter(pk__in=ids, state="RUNNING").count() == 4, timeout=60)
    get_backend().ensure_account(other_user.pk)

    # Slurm recomputes fair-share once a minute (PriorityCalcPeriod=1).
    deadline = time.monotonic() + 150
    factors = {}
    while time.monotonic() < deadline:
        factors = get_backend().fairshare()
        if factors.get(f"u_{owner.pk}", 1.0) < factors.get(f"u_{other_user.pk}", 0.0):
            break
        time.sleep(5)

    assert factors[f"u_{owner.pk}"] < factors[f"u_{other_user.pk}"]
    figures = fairness.scheduler_fairshare(get_backend())
    assert figures[owner.pk] == factors[f"u_{owner.pk}"]


def test_sync_accounts_sets_caps_in_slurm(owner):
    import io
    import subprocess

    from django.core.management import call_command

    from apps.core.models import QuotaOverride

    QuotaOverride.objects.create(user=owner, kind="max_running", limit="3")
    out = io.StringIO()

    call_command("sync_slurm_accounts", "--user", owner.username, stdout=out)

    assert out.getvalue().strip() == f"{owner.username}: u_{owner.pk} MaxJobs=3 MaxSubmitJobs=20"
    shown = subprocess.run(
        ["sacctmgr", "--noheader", "--parsable2", "show", "associations", "where", f"account=u_{owner.pk}",
         "format=Account,MaxJobs,MaxSubmit"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout.split()
    assert f"u_{owner.pk}|3|20" in shown
