"""Real components that fault tests stop, kill and start again.

Every test gets a private ``redis-server`` on a free port and a system on a
fresh SQLite database (migrated, with the demo users of ``setup_demo``) that
uses it. Daphne, the poller and Celery workers are started on demand, each in
a process group of its own so that a kill takes its children too, and all of
them are stopped when the test ends. Nothing here touches the shared Redis.
"""

import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import browser, free_port, log_in, wait_for_port  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
STOP_TIMEOUT = 15
FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED"}


class Process:
    """One server process in a group of its own, with its output in a log file."""

    def __init__(self, name, command, *, env, log_path):
        self.name = name
        self.log_path = log_path
        with open(log_path, "a") as log:
            self.popen = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def kill(self):
        """Send SIGKILL to the whole group, as a crash or the OOM killer would."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self):
        """Send SIGTERM and wait; kill the group if it has not exited after STOP_TIMEOUT s."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()

    def log(self):
        return self.log_path.read_text(errors="replace")


class RedisServer:
    """A redis-server on a fixed free port, without persistence, that can be killed and started again."""

    def __init__(self, folder):
        self.folder = folder
        self.port = free_port()
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        command = [
            REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.folder),
        ]
        self.process = Process("redis", command, env=dict(os.environ), log_path=self.folder / "redis.log")
        wait_for_port(self.port, self.process.popen)

    def kill(self):
        self.process.kill()


class System:
    """The platform on its own database and Redis: Daphne, the poller and workers on demand."""

    def __init__(self, folder, redis):
        self.folder = folder
        self.redis = redis
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.passwords = {"demo": secrets.token_urlsafe(10), "admin": secrets.token_urlsafe(10)}
        self.tokens = {}
        self.processes = []
        self.daphne = None
        self.env = {
            **os.environ,
            "VAR_DIR": str(folder / "var"),
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            "REDIS_URL": redis.url,
            "REDIS_PREFIX": f"faults-{uuid.uuid4().hex[:8]}",
            "DEMO_PASSWORD": self.passwords["demo"],
            "ADMIN_PASSWORD": self.passwords["admin"],
            "POLLER_INTERVAL": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)

    def manage(self, *args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
            check=True, capture_output=True, text=True, timeout=120,
        )

    def set_up(self):
        self.manage("migrate", "--noinput")
        output = self.manage("setup_demo").stdout
        self.tokens = dict(re.findall(r"API token for (\w+): (\w+)", output))

    def start(self, name, command, **env):
        process = Process(name, command, env={**self.env, **env}, log_path=self.folder / f"{name}.log")
        self.processes.append(process)
        return process

    def start_daphne(self):
        self.daphne = self.start(
            "daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "project.asgi:application"]
        )
        wait_for_port(self.port, self.daphne.popen)
        return self.daphne

    def start_poller(self):
        return self.start("poller", [sys.executable, "manage.py", "run_poller"])

    def start_worker(self, name, *, include=(), concurrency=1, **env):
        command = [
            sys.executable, "-m", "celery", "-A", "project", "worker", "-Q", "ai_queue",
            "--concurrency", str(concurrency), "--pool", "prefork", "--prefetch-multiplier", "1",
            "--loglevel", "INFO", "--hostname", f"{name}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]
        for module in include:
            command += ["--include", module]
        worker = self.start(name, command, **env)
        wait_for_log(worker, " ready.", timeout=60)
        return worker

    def stop_all(self):
        for process in reversed(self.processes):
            process.stop()

    def logs(self):
        """Return the tail of every process's log, for assertion messages."""
        parts = []
        for process in self.processes:
            parts.append(f"--- {process.name} ---\n" + process.log()[-3000:])
        return "\n".join(parts)

    # --- reading and acting like a user ---------------------------------------

    def api(self, username):
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Token {self.tokens[username]}"}, timeout=30
        )

    def db(self):
        connection = sqlite3.connect(f"file:{self.folder / 'db.sqlite3'}?mode=ro", uri=True, timeout=30)
        connection.row_factory = sqlite3.Row
        return connection

    def job_states(self, job_ids):
        with self.db() as connection:
            rows = connection.execute(
                f"SELECT id, state FROM code_app_job WHERE id IN ({','.join('?' * len(job_ids))})", list(job_ids)
            ).fetchall()
        return {row["id"]: row["state"] for row in rows}

    def task_record(self, record_id):
        with self.db() as connection:
            row = connection.execute(
                "SELECT state, attempts, result, error FROM core_taskrecord WHERE id = ?", (record_id,)
            ).fetchone()
        return {**dict(row), "result": json.loads(row["result"]) if row["result"] else None}


def wait_for_log(process, text, *, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.log()[-3000:]}")
        if text in process.log():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} did not log {text!r} within {timeout} s:\n{process.log()[-3000:]}")


def wait_until(predicate, *, timeout, interval=0.25, message="condition"):
    """Return the first true value of ``predicate()``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{message} not met within {timeout} s")


def submit_job(api, name, seconds):
    """Submit a Python job that sleeps ``seconds``; return the response."""
    script = f"import time\ntime.sleep({seconds})\nprint('{name} done')\n"
    return api.post("/code/api/jobs/submit/", json={"name": name, "script": script, "cpus": 1, "time_limit": "5"})


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def system(tmp_path, redis_server):
    live = System(tmp_path, redis_server)
    live.set_up()
    try:
        yield live
    finally:
        live.stop_all()
