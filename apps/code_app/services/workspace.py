"""Each user's workspace: the only directory their jobs read scripts from."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.utils import timezone

SCRIPTS_DIR = "scripts"
JOBS_DIR = "jobs"


def user_workspace(user_id):
    """Return the user's workspace directory, created on first use."""
    path = Path(settings.WORKSPACE_ROOT) / f"user-{int(user_id)}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_output_dir(job):
    path = user_workspace(job.owner_id) / JOBS_DIR / job.output_dir_name
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_inside(workspace, relative):
    """Return the real path of ``relative`` if it stays inside ``workspace``, else None.

    Symlinks are resolved first, so a link pointing out of the workspace is
    rejected like a ``..`` path.
    """
    root = Path(os.path.realpath(workspace))
    candidate = Path(os.path.realpath(root / relative))
    if candidate == root or root not in candidate.parents:
        return None
    return candidate


def save_script(user_id, filename, content):
    """Write an uploaded script under scripts/ with a unique name; return its relative path."""
    workspace = user_workspace(user_id)
    folder = workspace / SCRIPTS_DIR
    folder.mkdir(exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    unique_name = f"{stamp}-{secrets.token_hex(3)}-{filename}"
    path = folder / unique_name
    # O_EXCL: never overwrite, even if two uploads pick the same name.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    return f"{SCRIPTS_DIR}/{unique_name}"
