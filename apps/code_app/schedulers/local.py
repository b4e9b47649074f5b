"""The built-in scheduler for one machine.

It keeps Slurm's rules on a single host: each user runs at most their
``max_running`` cap of jobs at once (the rest wait with reason
AssocMaxJobsLimit, as under a Slurm association limit), the host runs at most
LOCAL_SCHEDULER_SLOTS jobs in all (the rest wait with reason Resources or
Priority), and waiting jobs start in fair-share order: the user who used the
least CPU time recently goes first.

Jobs run under ``local_runner`` in sessions of their own; this class only
launches runners and reads the files they write, so the poller can restart
while jobs keep running.

NOTE: memory limits are recorded but not enforced here, and jobs run as the
platform's own Unix user, so a hostile job could still reach the runner's
files or the database; a cluster enforces both through Slurm's cgroups and
separate users.
"""

import json
import logging
import os
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from apps.core.quotas import job_caps_for

from ..models import JobState
from ..services.jobspec import interpreter_for
from ..services.workspace import job_output_dir, user_workspace
from . import local_runner
from .base import JobStatus, SchedulerBackend

logger = logging.getLogger(__name__)

USAGE_WINDOW = timedelta(days=7)
USAGE_HALF_LIFE_HOURS = 24.0
REASON_USER_LIMIT = "AssocMaxJobsLimit"
REASON_RESOURCES = "Resources"
REASON_PRIORITY = "Priority"


def _from_epoch(value):
    return datetime.fromtimestamp(value, tz=dt_timezone.utc) if value else None


def _read_json(path):
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def control_dir(job):
    """Return the folder of the runner's own files for ``job``, outside every workspace."""
    path = Path(settings.LOCAL_SCHEDULER_STATE_DIR) / f"job-{job.pk}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_environment(job):
    """Return the clean environment a job runs with: platform basics plus the user's variables."""
    workspace = str(user_workspace(job.owner_id))
    cpus = str(job.cpus)
    env = {
        "PATH": os.environ.get("JOB_PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": workspace,
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": cpus,
        "FAIRSHARE_JOB_ID": str(job.pk),
        "FAIRSHARE_CPUS": cpus,
        "FAIRSHARE_WORKSPACE": workspace,
    }
    env.update(job.environment or {})
    return env


def job_command(job):
    """Return the argument list that runs the job's script."""
    interpreter = interpreter_for(job.script_path, (user_workspace(job.owner_id) / job.script_path).read_bytes()[:256])
    if interpreter == "python":
        return [settings.JOB_PYTHON, job.script_path]
    return ["/bin/bash", job.script_path]


class LocalScheduler(SchedulerBackend):
    name = "local"

    def __init__(self):
        self._reasons = {}
        self._positions = {}
        self._runners = {}

    # --- submitting and cancelling (called by the web process) -------------

    def submit(self, job, spec):
        job_output_dir(job)
        return str(job.pk)

    def cancel(self, job):
        runner = _read_json(control_dir(job) / local_runner.RUNNER_FILE)
        if runner is None:
            return
        try:
            os.kill(runner["runner_pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
        logger.info("sent SIGTERM to the runner of job %s of user %s", job.pk, job.owner_id)

    # --- the scheduling pass (called by the poller) ------------------------

    def schedule(self, jobs):
        self._reap_runners()
        states = {job.pk: self._observe(job) for job in jobs}
        running = [job for job in jobs if states[job.pk] == "RUNNING"]
        waiting = [job for job in jobs if states[job.pk] == "PENDING" and not job.cancel_requested]
        running_per_user = Counter(job.owner_id for job in running)
        free_slots = settings.LOCAL_SCHEDULER_SLOTS - len(running)
        usage = self.recent_usage()
        waiting.sort(key=lambda job: (usage.get(job.owner_id, 0.0), job.submit_time, job.pk))

        self._reasons = {}
        self._positions = {}
        caps = {owner_id: job_caps_for(owner_id)["max_running"] for owner_id in {job.owner_id for job in waiting}}
        blocked_by_priority = False
        for job in waiting:
            if running_per_user[job.owner_id] >= caps[job.owner_id]:
                self._reasons[job.pk] = REASON_USER_LIMIT
                continue
            if free_slots <= 0:
                self._reasons[job.pk] = REASON_PRIORITY if blocked_by_priority else REASON_RESOURCES
                blocked_by_priority = True
                continue
            if self._launch(job):
                running_per_user[job.owner_id] += 1
                free_slots -= 1
        still_waiting = [job for job in waiting if job.pk in self._reasons]
        self._positions = {job.pk: index for index, job in enumerate(still_waiting, start=1)}

    def _observe(self, job):
        folder = control_dir(job)
        if (folder / local_runner.STATUS_FILE).exists():
            return "DONE"
        if (folder / local_runner.RUNNER_FILE).exists() or job.pk in self._runners:
            return "RUNNING"
        return "PENDING"

    def _launch(self, job):
        folder = control_dir(job)
        try:
            argv = job_command(job)
        except OSError as exc:
            logger.warning("job %s of user %s cannot start: %s", job.pk, job.owner_id, exc)
            argv = ["/bin/false"]
        (folder / "environment.json").write_text(json.dumps(job_environment(job)))
        with open(folder / "runner.log", "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "apps.code_app.schedulers.local_runner",
                    str(folder), str(job_output_dir(job)), str(user_workspace(job.owner_id)),
                    str(job.time_limit_minutes * 60), str(settings.LOCAL_SCHEDULER_KILL_WAIT),
                    "--", *argv,
                ],
                cwd=settings.BASE_DIR,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
        self._runners[job.pk] = process
        logger.info("started job %s of user %s (runner pid %s)", job.pk, job.owner_id, process.pid)
        return True

    def _reap_runners(self):
        for pk, process in list(self._runners.items()):
            if process.poll() is not None:
                del self._runners[pk]

    # --- observing (called by the poller) ----------------------------------

    def poll(self, jobs):
        statuses = {}
        for job in jobs:
            folder = control_dir(job)
            final = _read_json(folder / local_runner.STATUS_FILE)
            if final is not None:
                statuses[job.pk] = JobStatus(
                    state=final["state"],
                    exit_code=final.get("exit_code"),
                    exit_signal=final.get("exit_signal"),
                    start_time=_from_epoch(final.get("start_time")),
                    end_time=_from_epoch(final.get("end_time")),
                )
                continue
            runner = _read_json(folder / local_runner.RUNNER_FILE)
            if runner is not None:
                if job.cancel_requested:
                    self.cancel(job)
                statuses[job.pk] = JobStatus(state=JobState.RUNNING, start_time=_from_epoch(runner["start_time"]))
            elif job.pk in self._runners:
                # Launched this tick; RUNNING is reported once the runner has
                # written its file with the real start time.
                continue
            elif job.cancel_requested:
                now = timezone.now()
                statuses[job.pk] = JobStatus(state=JobState.CANCELLED, exit_code=0, exit_signal=0, end_time=now)
            else:
                statuses[job.pk] = JobStatus(
                    state=JobState.PENDING,
                    reason=self._reasons.get(job.pk, "None"),
                    queue_position=self._positions.get(job.pk),
                )
        return statuses

    def recent_usage(self):
        """Return {user_id: decayed CPU-seconds} over the last week, for fair-share ordering."""
        from ..models import Job

        now = timezone.now()
        usage = defaultdict(float)
        recent = Job.objects.filter(start_time__isnull=False).exclude(end_time__lt=now - USAGE_WINDOW)
        for owner_id, cpus, start, end in recent.values_list("owner_id", "cpus", "start_time", "end_time"):
            finished = end or now
            seconds = max((finished - start).total_seconds(), 0.0)
            age_hours = (now - finished).total_seconds() / 3600
            usage[owner_id] += cpus * seconds * 0.5 ** (age_hours / USAGE_HALF_LIFE_HOURS)
        return dict(usage)
