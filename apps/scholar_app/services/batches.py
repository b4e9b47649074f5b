"""Work of many items: several Celery tasks under one quota check, or one compute job.

Batches of COMPUTE_BATCH_THRESHOLD items or more become one job of the
compute tier. The job's script runs a module of this project with the
project's own interpreter (``sys.executable``), because the local
scheduler's JOB_PYTHON is the system Python, which lacks pypdf and
matplotlib.
"""

import logging
import math
import shlex
import sys

from django.conf import settings

from apps.code_app.services.submission import submit_job
from apps.core.dispatch import enqueue
from apps.core.exceptions import InvalidJobSpec, QuotaExceeded
from apps.core.quotas import rate_status

logger = logging.getLogger(__name__)

BATCH_TIME_LIMIT_MINUTES = 60


def batch_script(module, *args):
    """Return a bash script that runs ``python -m module args`` with this project's interpreter.

    NOTE: on Slurm the compute nodes must see settings.BASE_DIR and
    sys.executable at the same paths, as on a shared file system.
    """
    command = " ".join(shlex.quote(str(part)) for part in (sys.executable, "-m", module, *args))
    return "\n".join(
        [
            "#!/bin/bash",
            "set -euo pipefail",
            f"export PYTHONPATH={shlex.quote(str(settings.BASE_DIR))}",
            "export MPLBACKEND=Agg",
            f"exec {command}",
            "",
        ]
    )


def submit_batch_job(user, name, module, *args):
    """Submit one compute job running ``module`` with ``args``; return the Job."""
    data = {
        "name": name,
        "script": batch_script(module, *args),
        "filename": f"{name}.sh",
        "time_limit": str(BATCH_TIME_LIMIT_MINUTES),
    }
    job = submit_job(user, data)
    logger.info("user %s submitted batch job %s (%s)", user.pk, job.pk, module)
    return job


def enqueue_many(user, kind, task, inputs):
    """Enqueue one task per input after checking that the user's ``kind`` quota covers all of them.

    Raises InvalidJobSpec when the batch is larger than the quota's burst
    and QuotaExceeded (nothing enqueued) when too few units remain now.
    """
    status = rate_status(user.pk, kind)
    count = len(inputs)
    if count > status["limit"]:
        raise InvalidJobSpec(
            {
                "batch": (
                    f"{count} items are more than the {status['limit']} {status['label'].lower()} allowed at once; "
                    f"send at most {status['limit']}, or {settings.COMPUTE_BATCH_THRESHOLD} or more to run them "
                    "as one compute job."
                )
            }
        )
    if count > status["remaining"]:
        wait = math.ceil((count - status["remaining"]) * status["refill_interval"])
        raise QuotaExceeded(
            f"{status['label']}: {count} requested but {status['remaining']} left. Try again in {wait} s.",
            kind=kind, retry_after=wait, limit=status["limit"], remaining=status["remaining"],
        )
    # NOTE: a request of the same user running at the same moment can still
    # spend the quota between the check and the last enqueue. The tasks
    # enqueued before that stay enqueued.
    return [enqueue(user, kind, task, input=task_input) for task_input in inputs]
