"""Real scripts through the local scheduler: submit, run, finish, read the output."""

import pytest

from apps.code_app.models import Job
from tests.conftest import poll_until, wait_for_state

SUBMIT = "/code/api/jobs/submit/"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("cancel_leftover_jobs")]


def submit_script(client, script, **fields):
    response = client.post(SUBMIT, {"script": script, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["job_id"]


def test_job_runs_to_completed_with_output(owner_client):
    script = "import math\nprint('sum of squares', sum(i * i for i in range(1000)))\nprint(math.factorial(10))\n"
    job_id = submit_script(owner_client, script, name="squares")

    seen = []
    poll_until(lambda: seen.append(Job.objects.get(pk=job_id).state) or seen[-1] == "COMPLETED")
    job = Job.objects.get(pk=job_id)

    assert job.exit_code == 0
    assert job.start_time is not None
    assert job.end_time >= job.start_time
    output = owner_client.get(f"/code/api/jobs/{job_id}/output/").json()
    assert output["stdout"] == "sum of squares 332833500\n3628800\n"
    assert output["stderr"] == ""


def test_job_failing_records_exit_code(owner_client):
    job_id = submit_script(owner_client, "import sys\nprint('oops', file=sys.stderr)\nsys.exit(3)\n")

    job = wait_for_state(job_id, "FAILED")

    assert job.exit_code == 3
    output = owner_client.get(f"/code/api/jobs/{job_id}/output/?lines=5").json()
    assert output["stderr"] == "oops\n"


def test_shell_script_runs_in_workspace(owner_client):
    job_id = submit_script(owner_client, "#!/bin/bash\necho \"cpus=$FAIRSHARE_CPUS\"\npwd\n", cpus=2)

    wait_for_state(job_id, "COMPLETED")

    stdout = owner_client.get(f"/code/api/jobs/{job_id}/output/").json()["stdout"]
    assert stdout.startswith("cpus=2\n")
    assert stdout.rstrip().endswith("user-%d" % Job.objects.get(pk=job_id).owner_id)


def test_job_environment_is_clean_plus_user_variables(owner_client, monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_FOR_TEST", "leak")
    script = "import os\nprint(os.environ.get('GREETING'), os.environ.get('DJANGO_SECRET_FOR_TEST'))\n"
    job_id = submit_script(owner_client, script, environment={"GREETING": "hi there; $(id)"})

    wait_for_state(job_id, "COMPLETED")

    stdout = owner_client.get(f"/code/api/jobs/{job_id}/output/").json()["stdout"]
    assert stdout == "hi there; $(id) None\n"


def test_job_past_time_limit_ends_timeout(owner_client, settings):
    settings.LOCAL_SCHEDULER_KILL_WAIT = 1
    job_id = submit_script(owner_client, "import time\nprint('start', flush=True)\ntime.sleep(600)\n", time_limit="1")

    job = wait_for_state(job_id, "TIMEOUT", timeout=90)

    assert job.exit_signal == 15
    assert 59 <= (job.end_time - job.start_time).total_seconds() <= 75


def test_cancel_running_job(owner_client):
    job_id = submit_script(owner_client, "import time\nprint('working', flush=True)\ntime.sleep(600)\n")
    wait_for_state(job_id, "RUNNING")

    response = owner_client.post(f"/code/api/jobs/{job_id}/cancel/")

    assert response.status_code == 202
    job = wait_for_state(job_id, "CANCELLED")
    assert job.exit_signal == 15


def test_cancel_pending_job_never_starts(owner_client):
    job_id = submit_script(owner_client, "print('never')\n")

    response = owner_client.post(f"/code/api/jobs/{job_id}/cancel/")

    assert response.status_code == 202
    job = wait_for_state(job_id, "CANCELLED")
    assert job.start_time is None
    assert owner_client.get(f"/code/api/jobs/{job_id}/output/").json()["stdout"] == ""


def test_cancel_finished_job_conflicts(owner_client):
    job_id = submit_script(owner_client, "print(1)\n")
    wait_for_state(job_id, "COMPLETED")

    response = owner_client.post(f"/code/api/jobs/{job_id}/cancel/")

    assert response.status_code == 409
    assert response.json() == {
        "error": "job_finished",
        "detail": f"Job {job_id} already ended as COMPLETED; there is nothing to cancel.",
    }


def test_eleventh_job_waits_and_twenty_first_is_rejected(owner_client, settings):
    settings.LOCAL_SCHEDULER_SLOTS = 16
    ids = [submit_script(owner_client, "#!/bin/bash\nsleep 120\n", name=f"hold{i}") for i in range(20)]

    poll_until(lambda: Job.objects.filter(state="RUNNING").count() == 10)
    rejected = owner_client.post(SUBMIT, {"script": "print(21)\n"}, format="json")

    assert rejected.status_code == 429
    assert rejected.json() == {
        "error": "job_limit_reached",
        "detail": "You already have 20 submitted jobs, the most allowed at once is 20; "
        "wait for some to finish or cancel some.",
        "limit": 20,
        "in_use": 20,
    }
    waiting = Job.objects.filter(pk__in=ids, state="PENDING")
    assert waiting.count() == 10
    assert set(waiting.values_list("pending_reason", flat=True)) == {"AssocMaxJobsLimit"}
    assert Job.objects.count() == 20


def test_other_user_gets_404(owner_client, other_client):
    job_id = submit_script(owner_client, "print(1)\n")

    for url in (f"/code/api/jobs/{job_id}/status/", f"/code/api/jobs/{job_id}/output/"):
        response = other_client.get(url)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    cancel = other_client.post(f"/code/api/jobs/{job_id}/cancel/")
    assert cancel.status_code == 404
    assert other_client.get("/code/api/jobs/").json() == {"jobs": []}
    assert Job.objects.get(pk=job_id).cancel_requested is False


def test_queue_summary_shows_caps_and_reasons(owner_client, settings):
    settings.LOCAL_SCHEDULER_SLOTS = 1
    first = submit_script(owner_client, "#!/bin/bash\nsleep 60\n", name="first")
    second = submit_script(owner_client, "#!/bin/bash\nsleep 60\n", name="second")
    wait_for_state(first, "RUNNING")
    poll_until(lambda: Job.objects.get(pk=second).pending_reason == "Resources")

    summary = owner_client.get("/code/api/jobs/queue/").json()

    assert summary["user"] == {"running": 1, "submitted": 2, "max_running": 10, "max_submitted": 20}
    assert summary["partitions"]["normal"] == {"PENDING": 1, "RUNNING": 1}
    assert summary["pending"] == [{"job_id": second, "name": "second", "reason": "Resources", "position": 1}]


def test_job_cannot_forge_its_final_state(owner_client):
    script = (
        "import json, os, time\n"
        "folder = os.path.join(os.environ['FAIRSHARE_WORKSPACE'], 'jobs', 'job-' + os.environ['FAIRSHARE_JOB_ID'])\n"
        "json.dump({'state': 'COMPLETED', 'exit_code': 0, 'exit_signal': 0, 'start_time': 1, 'end_time': 1},\n"
        "          open(os.path.join(folder, 'status.json'), 'w'))\n"
        "print('forged', flush=True)\n"
        "time.sleep(600)\n"
    )
    job_id = submit_script(owner_client, script)
    poll_until(lambda: "forged" in owner_client.get(f"/code/api/jobs/{job_id}/output/").json()["stdout"])

    for _ in range(5):
        wait_for_state(job_id, "RUNNING")

    assert Job.objects.get(pk=job_id).state == "RUNNING"


def test_output_never_follows_links_out_of_workspace(owner_client):
    script = (
        "#!/bin/bash\n"
        'folder="$FAIRSHARE_WORKSPACE/jobs/job-$FAIRSHARE_JOB_ID"\n'
        'rm -f "$folder/stdout.txt" && ln -s /etc/hostname "$folder/stdout.txt"\n'
    )
    job_id = submit_script(owner_client, script)
    wait_for_state(job_id, "COMPLETED")

    output = owner_client.get(f"/code/api/jobs/{job_id}/output/").json()

    assert output["stdout"] == ""
