"""The interface every compute backend implements."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class JobStatus:
    """The state of one job as the scheduler reports it at one moment."""

    state: str
    reason: str = ""
    exit_code: int | None = None
    exit_signal: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    # Place among the pending jobs of the partition, 1 = starts next.
    queue_position: int | None = None


class SchedulerBackend:
    """Submit, cancel and observe jobs on one scheduler.

    ``poll`` is called by the single poller process with every tracked job at
    once, so its cost must not grow with the number of people watching.
    """

    name = ""

    def submit(self, job, spec):
        """Hand the job to the scheduler; return the scheduler's job id."""
        raise NotImplementedError

    def cancel(self, job):
        """Ask the scheduler to stop the job; the poller records the outcome."""
        raise NotImplementedError

    def schedule(self, jobs):
        """Start whatever may start now (only schedulers run by this process do work here)."""

    def poll(self, jobs):
        """Return {job.pk: JobStatus} for the jobs the scheduler reports."""
        raise NotImplementedError

    def fairshare(self):
        """Return {username or account: fair-share factor from 0 to 1}, or None.

        None means the scheduler has no figures of its own, and the platform
        computes the factors from its job records (apps.core.fairness).
        """
        return None

    def queue_summary(self, jobs):
        """Return pending and running counts per partition."""
        summary = {}
        for job in jobs:
            counts = summary.setdefault(job.partition, {"PENDING": 0, "RUNNING": 0})
            if job.state in counts:
                counts[job.state] += 1
        return summary


_backends = {}


def get_backend(name=None):
    """Return the configured backend instance (one per process)."""
    from django.conf import settings

    name = name or settings.SCHEDULER_BACKEND
    if name not in _backends:
        if name == "local":
            from .local import LocalScheduler

            _backends[name] = LocalScheduler()
        elif name == "slurm":
            from .slurm import SlurmScheduler

            _backends[name] = SlurmScheduler()
        else:
            raise ValueError(f"unknown scheduler backend {name!r}; use local or slurm")
    return _backends[name]
