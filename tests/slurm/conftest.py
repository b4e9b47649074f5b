"""Tests against the real single-node Slurm cluster of deployment/slurm/cluster.sh."""

import subprocess

import pytest


@pytest.fixture(autouse=True)
def slurm_backend(settings):
    try:
        subprocess.run(["scontrol", "ping"], check=True, capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"the Slurm cluster is not running ({exc}); start it with deployment/slurm/cluster.sh up")
    settings.SCHEDULER_BACKEND = "slurm"
    settings.SLURM_CONTAINER_RUNTIME = "none"
    settings.SLURM_SUBMIT_AS = ""
