"""A real Celery worker for integration tests, and the fake external APIs it calls.

``module_celery_worker`` starts ``celery -A project worker`` on all four queues as a
subprocess, once per test module, with the test run's REDIS_URL and
REDIS_PREFIX, the test database and the fakes' base URLs. A test module may
set ``WORKER_ENV`` (a dict) to add environment variables for its worker.
It stops when the module ends, so modules that count queued messages
without a worker are not disturbed.

Tests that use the worker need ``django_db(transaction=True)``, because the
worker reads only committed rows.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from apps.core.models import TaskRecord
from apps.core.quotas import get_limiter, subject_for_user
from apps.core.redis import get_redis
from tests.fakes import ai, arxiv, crossref, pubmed

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("ai_queue", "search_queue", "compute_queue", "vis_queue")
READY_TIMEOUT = 60
# Platform-wide limits high enough that the tests of one module never wait
# for them; test_admission sets its own to show the wait.
TEST_TASK_RATES = {
    "TASK_RATE_LIMIT_AI_SUGGEST": "600/m",
    "TASK_RATE_LIMIT_AI_GENERATE": "600/m",
    "TASK_RATE_LIMIT_SEARCH_PAPERS": "600/m",
    "TASK_RATE_LIMIT_PROCESS_PDF": "600/m",
    "TASK_RATE_LIMIT_COMPILE_LATEX": "600/m",
    "TASK_RATE_LIMIT_FETCH_METADATA": "600/m",
    "TASK_RATE_LIMIT_EXPORT_FIGURE": "600/m",
}


class FakeServices:
    def __init__(self):
        self.ai = ai.make_server().start()
        self.arxiv = arxiv.make_server().start()
        self.pubmed = pubmed.make_server().start()
        self.crossref = crossref.make_server().start()

    @property
    def all(self):
        return [self.ai, self.arxiv, self.pubmed, self.crossref]

    def env(self):
        return {
            "AI_API_KEY": ai.API_KEY,
            "AI_BASE_URL": self.ai.base_url,
            "ARXIV_BASE_URL": f"{self.arxiv.base_url}/api/query",
            "PUBMED_BASE_URL": self.pubmed.base_url,
            "CROSSREF_BASE_URL": self.crossref.base_url,
        }

    def reset(self):
        for service in self.all:
            service.reset()


class Worker:
    def __init__(self, process, log_path, workspace_root):
        self.process = process
        self.log_path = log_path
        self.workspace_root = workspace_root

    def log(self):
        return self.log_path.read_text(errors="replace")


def database_url():
    """Return a DATABASE_URL for the database this test process uses (the test database once set up)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        credentials = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "127.0.0.1"
        port = db["PORT"] or 5432
        return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"
    raise RuntimeError(f"no worker DATABASE_URL for the engine {db['ENGINE']}")


def purge_queues():
    """Drop messages left in this run's queues, e.g. by tests that enqueue without a worker."""
    prefix = f"{settings.REDIS_PREFIX}:celery:"
    client = get_redis()
    client.delete(*[prefix + name for name in QUEUES], prefix + "unacked", prefix + "unacked_index")


@contextmanager
def running_worker(env, log_path, *, cwd=ROOT):
    """Run a Celery worker with ``env`` until the block ends; wait until it is ready first."""
    command = [
        sys.executable, "-m", "celery", "-A", "project", "worker",
        "-Q", ",".join(QUEUES), "--concurrency", "2", "--pool", "prefork", "--prefetch-multiplier", "1",
        "--loglevel", "INFO", "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_until_ready(process, log_path)
        yield process
    finally:
        _stop(process)


def _wait_until_ready(process, log_path):
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with {process.returncode}:\n{log_path.read_text()}")
        if " ready." in log_path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the Celery worker was not ready after {READY_TIMEOUT} s:\n{log_path.read_text()}")


def _stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def reset_task_limits():
    for name in settings.TASK_RATE_LIMITS:
        get_limiter().reset("task-" + name.rsplit(".", 1)[-1], "all")


@pytest.fixture(scope="session")
def fake_services():
    services = FakeServices()
    yield services
    for service in services.all:
        service.stop()


@pytest.fixture(scope="module")
def module_celery_worker(request, django_db_setup, django_db_blocker, fake_services, tmp_path_factory):
    folder = tmp_path_factory.mktemp("worker")
    workspace_root = folder / "workspaces"
    env = {
        **os.environ,
        **TEST_TASK_RATES,
        **fake_services.env(),
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_PREFIX": settings.REDIS_PREFIX,
        "WORKSPACE_ROOT": str(workspace_root),
        "EXTERNAL_RETRY_BASE_DELAY": "0.2",
        "EXTERNAL_MAX_RETRIES": "2",
        "PYTHONUNBUFFERED": "1",
        **getattr(request.module, "WORKER_ENV", {}),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    purge_queues()
    reset_task_limits()
    with running_worker(env, folder / "worker.log") as process:
        yield Worker(process, folder / "worker.log", workspace_root)


@pytest.fixture
def live_worker(module_celery_worker, settings, fake_services, owner, other_user):
    """The module's worker, with this test's workspaces, fakes and quotas made fresh."""
    settings.WORKSPACE_ROOT = module_celery_worker.workspace_root
    fake_services.reset()
    for user in (owner, other_user):
        for kind in settings.RATE_LIMITS:
            get_limiter().reset(kind, subject_for_user(user.pk))
    yield module_celery_worker
    fake_services.reset()


def wait_for_task(task_id, *states, timeout=30.0):
    """Return the TaskRecord once it reaches one of ``states`` (default: SUCCESS or FAILURE)."""
    states = set(states or ("SUCCESS", "FAILURE"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = TaskRecord.objects.get(task_id=task_id)
        if record.state in states:
            return record
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} is {record.state}, not {' or '.join(sorted(states))}, after {timeout} s")


def queue_lengths():
    prefix = f"{settings.REDIS_PREFIX}:celery:"
    return {name: get_redis().llen(prefix + name) for name in QUEUES}
