"""The Slurm backend: sbatch, squeue, sacct, scancel and sshare through argument lists.

Every platform user has a Slurm account of their own (``u_<user id>`` under
SLURM_PARENT_ACCOUNT) whose association carries the user's job caps
(MaxJobs, MaxSubmitJobs) and its own fair-share, because all jobs are
submitted by one Unix service user: Slurm's per-Unix-user limits would
otherwise cap the whole platform at once.

Every sbatch option goes on the command line, never into ``#SBATCH`` lines,
and the batch script contains only values quoted with shlex, so no field can
add a directive or a shell command.
"""

import getpass
import logging
import os
import re
import secrets
import shlex
import threading
import time

from django.conf import settings

from apps.core.exceptions import InvalidJobSpec, JobLimitExceeded, SchedulerRejected, SchedulerUnavailable
from apps.core.quotas import job_caps_for

from ..services.jobspec import interpreter_for
from ..services.workspace import job_output_dir, user_workspace
from .base import JobStatus, SchedulerBackend
from .slurm_commands import SlurmCommandError, SlurmTimeout, run_slurm
from .slurm_parse import (
    SACCT_ARGS,
    SQUEUE_ARGS,
    SPRIO_ARGS,
    SSHARE_ARGS,
    is_terminal_state,
    parse_sacct,
    parse_squeue,
    parse_sprio,
    parse_sshare,
)

logger = logging.getLogger(__name__)

CONTAINER_WORKSPACE = "/workspace"
JOB_PATH = "/usr/local/bin:/usr/bin:/bin"
COMMENT_PREFIX = "platform-job-"
# How long a job that squeue shows as ended may miss from sacct before its
# end is stored without sacct's exit code (slurmdbd down or far behind).
SACCT_GRACE_SECONDS = 30.0
_SBATCH_ID = re.compile(r"^(\d+)(?:;\S+)?$")


def account_name(user_id):
    return f"u_{int(user_id)}"


def user_id_from_account(account):
    match = re.fullmatch(r"u_(\d+)", account or "")
    return int(match.group(1)) if match else None


def queue_positions(statuses):
    """Return {job id: 1-based place among the pending jobs of its partition, by priority}."""
    pending = [status for status in statuses if status.state == "PENDING"]
    pending.sort(key=lambda status: (-(status.priority or 0), status.submit_time or 0, int(status.scheduler_job_id)))
    positions, counters = {}, {}
    for status in pending:
        counters[status.partition] = counters.get(status.partition, 0) + 1
        positions[status.scheduler_job_id] = counters[status.partition]
    return positions


def _job_status(status, position=None):
    return JobStatus(
        state=status.state,
        reason=status.reason if status.reason not in ("None", "(null)") else "",
        exit_code=status.exit_code,
        exit_signal=status.signal,
        start_time=status.start_time,
        end_time=status.end_time,
        queue_position=position,
    )


class SlurmScheduler(SchedulerBackend):
    name = "slurm"

    def __init__(self):
        self._ensured_accounts = {}
        self._ended_without_record = {}
        self._cluster_name = None
        self._lock = threading.Lock()

    # --- accounts ------------------------------------------------------------

    def submit_user(self):
        """Return the Unix user whose jobs these are (the --uid of sbatch, or this process's user)."""
        return settings.SLURM_SUBMIT_AS or getpass.getuser()

    def ensure_account(self, user_id):
        """Create or update the user's Slurm account and its limits; return its name."""
        account = account_name(user_id)
        caps = job_caps_for(user_id)
        wanted = (caps["max_running"], caps["max_submitted"])
        with self._lock:
            if self._ensured_accounts.get(account) == wanted:
                return account
        unix_user = self.submit_user()
        # One slurmdbd can serve several clusters; associations are per cluster.
        cluster = f"cluster={self.cluster_name()}"
        current = run_slurm(
            ["sacctmgr", "--noheader", "--parsable2", "show", "associations", "where",
             f"account={account}", f"user={unix_user}", cluster, "format=Account,User,MaxJobs,MaxSubmit"]
        ).strip()
        limits = [f"MaxJobs={wanted[0]}", f"MaxSubmitJobs={wanted[1]}"]
        if not current:
            self._sacctmgr_add(["account", account, f"parent={settings.SLURM_PARENT_ACCOUNT}", cluster,
                                "fairshare=1", f"Description=platform user {int(user_id)}"])
            self._sacctmgr_add(["user", unix_user, f"account={account}", cluster, "fairshare=1", *limits])
            logger.info("created Slurm account %s for user %s with %s", account, user_id, " ".join(limits))
        elif current.split("|")[2:4] != [str(wanted[0]), str(wanted[1])]:
            run_slurm(["sacctmgr", "-i", "modify", "user", "where", f"name={unix_user}",
                       f"account={account}", cluster, "set", *limits])
            logger.info("updated Slurm account %s of user %s to %s", account, user_id, " ".join(limits))
        with self._lock:
            self._ensured_accounts[account] = wanted
        return account

    def cluster_name(self):
        """Return the ClusterName of the controller this host talks to (read once)."""
        if self._cluster_name is None:
            for line in run_slurm(["scontrol", "show", "config"]).splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "ClusterName":
                    self._cluster_name = value.strip()
                    break
            else:
                raise SchedulerUnavailable("scontrol show config printed no ClusterName; check the Slurm setup.")
        return self._cluster_name

    def _sacctmgr_add(self, arguments):
        try:
            run_slurm(["sacctmgr", "-i", "add", *arguments])
        except SlurmCommandError as error:
            # Another process created it first: sacctmgr reports "Nothing new added" and exits 1.
            if "Nothing new added" not in error.stdout + error.stderr:
                raise

    # --- submitting ------------------------------------------------------------

    def batch_script(self, job):
        """Return the batch script: a clean environment, then the user's script in the container."""
        workspace = str(user_workspace(job.owner_id))
        interpreter = interpreter_for(job.script_path, (user_workspace(job.owner_id) / job.script_path).read_bytes()[:256])
        program = "python3" if interpreter == "python" else "bash"
        runtime = settings.SLURM_CONTAINER_RUNTIME
        lines = ["#!/bin/bash", "set -eu", f"export PATH={shlex.quote(JOB_PATH)}"]
        if runtime == "none":
            command = ["env", "-i", f"PATH={JOB_PATH}", f"HOME={workspace}", "LANG=C.UTF-8",
                       f"OMP_NUM_THREADS={job.cpus}", f"FAIRSHARE_JOB_ID={job.pk}", f"FAIRSHARE_CPUS={job.cpus}",
                       f"FAIRSHARE_WORKSPACE={workspace}"]
            command += [f"{key}={value}" for key, value in sorted(job.environment.items())]
            command += [program, job.script_path]
            lines.append(f"cd {shlex.quote(workspace)}")
        else:
            # User variables reach the container only through APPTAINERENV_,
            # which --cleanenv still passes in.
            for key, value in sorted(job.environment.items()):
                lines.append(f"export APPTAINERENV_{key}={shlex.quote(value)}")
            lines.append(f"export APPTAINERENV_OMP_NUM_THREADS={job.cpus}")
            lines.append(f"export APPTAINERENV_FAIRSHARE_JOB_ID={job.pk}")
            lines.append(f"export APPTAINERENV_FAIRSHARE_CPUS={job.cpus}")
            lines.append(f"export APPTAINERENV_FAIRSHARE_WORKSPACE={CONTAINER_WORKSPACE}")
            command = [runtime, "exec", "--cleanenv", "--containall", "--no-home",
                       "--bind", f"{workspace}:{CONTAINER_WORKSPACE}", "--pwd", CONTAINER_WORKSPACE,
                       settings.SLURM_CONTAINER_IMAGE, program, f"{CONTAINER_WORKSPACE}/{job.script_path}"]
        lines.append("exec " + shlex.join(command))
        return "\n".join(lines) + "\n"

    def sbatch_arguments(self, job, account, script_file, marker):
        folder = job_output_dir(job)
        arguments = [
            "sbatch", "--parsable",
            f"--job-name={job.name}",
            f"--partition={job.partition}",
            f"--account={account}",
            f"--cpus-per-task={job.cpus}",
            f"--mem={job.memory_gb}G",
            f"--time={job.time_limit_minutes}",
            f"--chdir={folder}",
            f"--output={folder / 'stdout.txt'}",
            f"--error={folder / 'stderr.txt'}",
            f"--comment={marker}",
            "--export=NONE",
        ]
        if settings.SLURM_SUBMIT_AS and os.geteuid() == 0:
            arguments += [f"--uid={settings.SLURM_SUBMIT_AS}", f"--gid={settings.SLURM_SUBMIT_AS}"]
        return [*arguments, str(script_file)]

    def submit(self, job, spec):
        account = self.ensure_account(job.owner_id)
        script_file = job_output_dir(job) / "batch.sh"
        script_file.write_text(self.batch_script(job))
        script_file.chmod(0o750)
        # A marker unique to this submission finds the job again if sbatch's
        # output is lost. The job id alone could repeat across deployments.
        marker = f"{COMMENT_PREFIX}{job.pk}-{secrets.token_hex(8)}"
        arguments = self.sbatch_arguments(job, account, script_file, marker)
        try:
            output = run_slurm(arguments)
        except SlurmTimeout:
            found = self.reconcile(marker)
            if found:
                logger.warning("sbatch for job %s timed out, but Slurm has it as %s", job.pk, found)
                return found
            raise
        except SlurmCommandError as error:
            raise self.submit_error(job, error) from None
        match = _SBATCH_ID.match(output.strip())
        if not match:
            raise SchedulerUnavailable(f"sbatch printed no job id for job {job.pk}: {output.strip()[:200]!r}")
        return match.group(1)

    def submit_error(self, job, error):
        """Turn sbatch's refusal into the platform error it means."""
        text = error.stderr
        if "MaxSubmitJob" in text:
            caps = job_caps_for(job.owner_id)
            return JobLimitExceeded(
                f"Slurm refused the job: you already have the most submitted jobs allowed "
                f"({caps['max_submitted']}); wait for some to finish or cancel some.",
                limit=caps["max_submitted"],
                in_use=caps["max_submitted"],
            )
        if "Invalid partition" in text or "invalid partition" in text:
            return InvalidJobSpec({"partition": f"Slurm does not know partition {job.partition!r}."})
        if "time limit" in text.lower():
            return InvalidJobSpec({"time_limit": f"Slurm refused a time limit of {job.time_limit_minutes} minutes for partition {job.partition}."})
        if "Unable to contact" in text or "Socket timed out" in text or "Zero Bytes" in text:
            return SchedulerUnavailable("The Slurm controller cannot be reached; try again shortly.")
        return SchedulerRejected(f"Slurm refused the job: {text.splitlines()[-1] if text else error}")

    def reconcile(self, marker):
        """Return the Slurm id of the job submitted with ``marker`` as its comment, or None."""
        try:
            output = run_slurm(["squeue", "--noheader", "--states=all", "--format=%A|%k"])
        except SchedulerUnavailable:
            return None
        for line in output.splitlines():
            job_id, _, comment = line.partition("|")
            if comment.strip() == marker:
                return job_id.strip()
        return None

    # --- cancelling and observing ------------------------------------------------

    def cancel(self, job):
        if not job.scheduler_job_id:
            return
        try:
            run_slurm(["scancel", job.scheduler_job_id])
        except SlurmCommandError as error:
            # A job that already ended cannot be cancelled; the poller records its end.
            logger.warning("scancel of job %s (Slurm %s) failed: %s", job.pk, job.scheduler_job_id, error.stderr)
        logger.info("cancelled job %s (Slurm %s) of user %s", job.pk, job.scheduler_job_id, job.owner_id)

    def poll(self, jobs):
        """Return the statuses of ``jobs`` from one squeue, then one sacct for jobs squeue no longer shows.

        squeue and sacct are asked about every job of the cluster, not filtered
        per user, and the result is filtered here by the ids this platform
        tracks, so one user's page never shows another user's job. A job that
        neither command reports keeps its state: sacct lags squeue by a second
        or two, and a failed command must never end a job.
        """
        tracked = {job.scheduler_job_id: job for job in jobs if job.scheduler_job_id}
        if not tracked:
            return {}
        seen = {}
        queue = parse_squeue(run_slurm(SQUEUE_ARGS))
        for status in queue:
            if status.scheduler_job_id in tracked:
                seen[status.scheduler_job_id] = status
        positions = queue_positions(queue)

        # squeue prints no exit code, so a job that ended, like one squeue no
        # longer shows, is read from sacct, in one call for all of them.
        ask_sacct = [job_id for job_id in tracked if job_id not in seen or is_terminal_state(seen[job_id].state)]
        if ask_sacct:
            accounted = self.accounting(ask_sacct)
            now = time.monotonic()
            for job_id in ask_sacct:
                if job_id in accounted:
                    seen[job_id] = accounted[job_id]
                    self._ended_without_record.pop(job_id, None)
                elif job_id in seen:
                    # sacct lags squeue by a second or two; wait for its record
                    # (with the exit code) unless it stays away too long.
                    first_seen = self._ended_without_record.setdefault(job_id, now)
                    if now - first_seen < SACCT_GRACE_SECONDS:
                        del seen[job_id]

        return {
            tracked[job_id].pk: _job_status(status, positions.get(job_id)) for job_id, status in seen.items()
        }

    def accounting(self, job_ids):
        """Return {job id: status} from sacct for ``job_ids``, in one call.

        sacct shows a job that just started as PENDING for a second or two
        (its placeholder record), so PENDING rows are left out.
        """
        output = run_slurm([*SACCT_ARGS, f"--jobs={','.join(job_ids)}"])
        wanted = set(job_ids)
        return {
            status.scheduler_job_id: status
            for status in parse_sacct(output)
            if status.scheduler_job_id in wanted and status.state != "PENDING"
        }

    def priorities(self):
        """Return {Slurm job id: (priority, fair-share part)} of every pending job, from sprio."""
        return {
            row.scheduler_job_id: (round(row.priority), round(row.fair_share))
            for row in parse_sprio(run_slurm(SPRIO_ARGS))
        }

    def fairshare(self):
        """Return {account: fair-share factor} from sshare for the platform's accounts (u_<id>)."""
        factors = {}
        for row in parse_sshare(run_slurm(SSHARE_ARGS)):
            if user_id_from_account(row.account) is not None and row.user and row.fair_share is not None:
                factors[row.account] = row.fair_share
        return factors
