"""Running Slurm's commands: argument lists only, a timeout on every call, clear errors."""

import logging
import os
import subprocess
import time
from pathlib import Path

from django.conf import settings

from apps.core.exceptions import SchedulerUnavailable

from .slurm_parse import SLURM_TIME_ENV

logger = logging.getLogger(__name__)


class SlurmCommandError(Exception):
    """A Slurm command ran and exited non-zero. ``stderr`` contains its message."""

    def __init__(self, argv, returncode, stdout, stderr):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr.strip()
        super().__init__(f"{argv[0]} exited with {returncode}: {self.stderr or stdout.strip()}")


class SlurmTimeout(SchedulerUnavailable):
    """A Slurm command did not finish in time; whether it took effect is unknown."""


def command_path(name):
    folder = settings.SLURM_BIN_DIR
    return str(Path(folder) / name) if folder else name


def run_slurm(argv, *, timeout=None, input_text=None):
    """Run one Slurm command and return its stdout; raise on failure.

    Raises SchedulerUnavailable when the binary is missing, SlurmTimeout when
    it does not finish within ``timeout`` seconds (SLURM_COMMAND_TIMEOUT by
    default), and SlurmCommandError when it exits non-zero.
    """
    argv = [command_path(argv[0]), *map(str, argv[1:])]
    timeout = timeout or settings.SLURM_COMMAND_TIMEOUT
    env = {**os.environ, **SLURM_TIME_ENV}
    started = time.monotonic()
    try:
        completed = subprocess.run(
            argv, input=input_text, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except FileNotFoundError:
        raise SchedulerUnavailable(
            f"The Slurm command {argv[0]} was not found; install Slurm's client commands or set SLURM_BIN_DIR."
        ) from None
    except subprocess.TimeoutExpired:
        raise SlurmTimeout(
            f"The Slurm controller did not answer {Path(argv[0]).name} within {timeout:g} s; try again shortly."
        ) from None
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        raise SlurmCommandError(argv, completed.returncode, completed.stdout, completed.stderr)
    logger.debug("%s took %.3f s", Path(argv[0]).name, elapsed)
    return completed.stdout
