"""sbatch's refusals and failures become clear API errors; an unknown outcome is reconciled."""

import os
import shutil
import stat

import pytest

from apps.code_app.models import Job
from apps.code_app.schedulers.base import get_backend
from apps.code_app.schedulers.slurm_commands import SlurmCommandError
from apps.core.exceptions import SchedulerRejected
from tests.conftest import wait_for_state

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("cancel_leftover_jobs"),
]

SUBMIT = "/code/api/jobs/submit/"


def write_wrapper(folder, name, body):
    path = folder / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def wrapped_bin(tmp_path, settings):
    """A SLURM_BIN_DIR whose commands are the real ones, except those a test replaces."""
    folder = tmp_path / "slurm-bin"
    folder.mkdir()
    for name in ("sbatch", "squeue", "sacct", "scancel", "sacctmgr", "sshare", "sprio", "scontrol"):
        os.symlink(shutil.which(name), folder / name)
    settings.SLURM_BIN_DIR = str(folder)
    return folder


def test_missing_slurm_binaries_answer_503(owner_client, settings, tmp_path):
    settings.SLURM_BIN_DIR = str(tmp_path / "nowhere")

    response = owner_client.post(SUBMIT, {"script": "print(1)\n"}, format="json")

    assert response.status_code == 503
    assert response.json()["error"] == "scheduler_unavailable"
    assert "was not found; install Slurm's client commands or set SLURM_BIN_DIR" in response.json()["detail"]


def test_timed_out_sbatch_is_reconciled_not_duplicated(owner_client, settings, wrapped_bin):
    real = shutil.which("sbatch")
    (wrapped_bin / "sbatch").unlink()
    # The job reaches Slurm, then sbatch's output comes too late.
    write_wrapper(wrapped_bin, "sbatch", f'#!/bin/bash\n"{real}" "$@"\nsleep 5\n')
    settings.SLURM_COMMAND_TIMEOUT = 2

    response = owner_client.post(SUBMIT, {"script": "print('once')\n"}, format="json")

    assert response.status_code == 201
    job = Job.objects.get(pk=response.json()["job_id"])
    assert job.scheduler_job_id.isdigit()
    settings.SLURM_COMMAND_TIMEOUT = 30
    wait_for_state(job.pk, "COMPLETED", timeout=60)
    assert owner_client.get(f"/code/api/jobs/{job.pk}/output/").json()["stdout"] == "once\n"


def test_timed_out_sbatch_that_never_reached_slurm_answers_503(owner_client, settings, wrapped_bin):
    (wrapped_bin / "sbatch").unlink()
    write_wrapper(wrapped_bin, "sbatch", "#!/bin/bash\nsleep 5\n")
    settings.SLURM_COMMAND_TIMEOUT = 2

    response = owner_client.post(SUBMIT, {"script": "print(1)\n"}, format="json")

    assert response.status_code == 503
    assert "did not answer sbatch within 2 s" in response.json()["detail"]
    job = Job.objects.get()
    assert job.state == "FAILED"
    assert job.pending_reason == "SubmitFailed"


def test_unavailable_configuration_is_a_clear_rejection(owner, owner_client):
    response = owner_client.post(SUBMIT, {"script": "print(1)\n", "memory_gb": 2}, format="json")
    job = Job.objects.get(pk=response.json()["job_id"])
    job.pk = None
    job.memory_gb = 512
    job.save()

    with pytest.raises(SchedulerRejected, match="Slurm refused the job: .*(configuration|memory)"):
        get_backend().submit(job, None)


def test_controller_that_does_not_answer_polls_fail_without_ending_jobs(owner_client, settings, wrapped_bin):
    from apps.code_app.services.poller import poll_once

    response = owner_client.post(SUBMIT, {"script": "#!/bin/bash\nsleep 60\n"}, format="json")
    job = wait_for_state(response.json()["job_id"], "RUNNING", timeout=60)
    (wrapped_bin / "squeue").unlink()
    write_wrapper(wrapped_bin, "squeue", "#!/bin/bash\necho 'slurm_load_jobs error: Unable to contact slurm controller' >&2\nexit 1\n")

    try:
        with pytest.raises(SlurmCommandError, match="squeue exited with 1"):
            poll_once(get_backend())
    finally:
        (wrapped_bin / "squeue").unlink()
        os.symlink(shutil.which("squeue"), wrapped_bin / "squeue")

    job.refresh_from_db()
    assert job.state == "RUNNING"
