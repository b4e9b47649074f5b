"""Run one job of the local scheduler and record how it ended.

Started detached by the poller as
``python -m apps.code_app.schedulers.local_runner CONTROL_DIR OUTPUT_DIR WORKSPACE TIME_LIMIT_SECONDS KILL_WAIT -- ARGV...``.
CONTROL_DIR holds this runner's files (its pid, the job's environment and
final state) outside the user's workspace, so the job cannot rewrite its
own state as easily; OUTPUT_DIR, in the workspace, gets stdout and stderr.
It plays the part of Slurm's step daemon: it starts the job in a session of
its own, enforces the time limit, turns SIGTERM (a cancel) into a clean stop,
and writes ``status.json`` atomically when the job ends. The poller only reads
files, so it can restart while jobs run.

This module imports nothing from Django, so a job never waits on its setup.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

RUNNER_FILE = "runner.json"
STATUS_FILE = "status.json"
STDOUT_FILE = "stdout.txt"
STDERR_FILE = "stderr.txt"


def write_json_atomically(path, data):
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data))
    os.replace(temporary, path)


def stop_process_group(process, kill_wait):
    """SIGTERM the job's process group, then SIGKILL it after ``kill_wait`` seconds."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=kill_wait)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def run(job_dir, output_dir, time_limit, kill_wait, argv, cwd):
    cancelled = False

    def on_sigterm(signum, frame):
        nonlocal cancelled
        cancelled = True

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    env = json.loads((job_dir / "environment.json").read_text())

    with open(output_dir / STDOUT_FILE, "wb") as stdout, open(output_dir / STDERR_FILE, "wb") as stderr:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
            close_fds=True,
        )
        started = time.time()
        write_json_atomically(
            job_dir / RUNNER_FILE, {"runner_pid": os.getpid(), "job_pid": process.pid, "start_time": started}
        )
        deadline = started + time_limit
        state = None
        while True:
            try:
                returncode = process.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if cancelled:
                state = "CANCELLED"
            elif time.time() >= deadline:
                state = "TIMEOUT"
            if state:
                stop_process_group(process, kill_wait)
                returncode = process.returncode
                break

    if state is None:
        state = "COMPLETED" if returncode == 0 else "FAILED"
    exit_code = returncode if returncode >= 0 else 0
    exit_signal = -returncode if returncode < 0 else 0
    write_json_atomically(
        job_dir / STATUS_FILE,
        {
            "state": state,
            "exit_code": exit_code,
            "exit_signal": exit_signal,
            "start_time": started,
            "end_time": time.time(),
        },
    )


def main(args):
    separator = args.index("--")
    job_dir, output_dir, workspace, time_limit, kill_wait = args[:separator]
    argv = args[separator + 1 :]
    job_dir, output_dir = Path(job_dir), Path(output_dir)
    try:
        run(job_dir, output_dir, float(time_limit), float(kill_wait), argv, cwd=workspace)
    except Exception as exc:
        # The job could not even start (missing interpreter, unreadable
        # script); record it as a launch failure, as Slurm does.
        with (output_dir / STDERR_FILE).open("a") as stderr:
            stderr.write(f"job failed to start: {exc}\n")
        now = time.time()
        write_json_atomically(
            job_dir / STATUS_FILE,
            {"state": "FAILED", "exit_code": 0, "exit_signal": 0, "launch_error": str(exc),
             "start_time": now, "end_time": now},
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
