"""Operations: management commands, admission counters, queue depths, logs, Flower and Docker."""

import base64
import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.code_app.models import Job
from apps.code_app.services.submission import submit_job
from apps.core import health, metrics
from apps.core.exceptions import JobLimitExceeded, QuotaExceeded
from apps.core.log_format import JsonFormatter
from apps.core.models import QuotaOverride
from apps.core.quotas import admit, get_limiter
from apps.core.redis import get_redis, redis_key
from project.celery import app as celery_app
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deployment" / "docker" / "docker_dev" / "docker-compose.yml"


@pytest.fixture(autouse=True)
def clean_counters():
    def clear():
        keys = list(get_redis().scan_iter(match=redis_key("metrics:*"), count=1000))
        if keys:
            get_redis().delete(*keys)

    clear()
    yield
    clear()


def procfile():
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def run_command(name, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def finished_job(owner, *, cpus, hours_ago, hours):
    end = timezone.now() - timedelta(hours=hours_ago)
    return Job.objects.create(
        owner=owner, backend="local", name="finished", partition="normal", cpus=cpus, memory_gb=1,
        time_limit_minutes=600, script_path="a.py", state="COMPLETED", exit_code=0,
        start_time=end - timedelta(hours=hours), end_time=end,
    )


# --- fairness_report ---------------------------------------------------------------


def test_fairness_report_json(owner, other_user):
    finished_job(owner, cpus=2, hours_ago=1, hours=1)
    finished_job(other_user, cpus=1, hours_ago=1, hours=1)
    finished_job(other_user, cpus=1, hours_ago=72, hours=1)

    out, _ = run_command("fairness_report", "--json")

    report = json.loads(out)
    users = {user["username"]: user for user in report["users"]}
    assert report["fairshare_source"] == "platform"
    assert report["windows"]["24h"]["jain"] == pytest.approx(0.9)
    assert report["windows"]["7d"]["jain"] == pytest.approx(1.0)
    assert users["alice"]["cpu_hours_24h"] == pytest.approx(2.0, abs=1e-3)
    assert users["bob"]["cpu_hours_7d"] == pytest.approx(2.0, abs=1e-3)
    assert users["alice"]["target_24h"] == pytest.approx(0.5)
    assert len(report["jain_per_day"]) == 7


def test_fairness_report_table(owner, other_user):
    finished_job(owner, cpus=2, hours_ago=1, hours=1)
    finished_job(other_user, cpus=1, hours_ago=1, hours=1)

    out, _ = run_command("fairness_report", "--window", "24h")

    assert "24h           2        3.00       0.900" in out
    assert "alice" in out
    assert "67% / 50%" in out
    assert "7d" not in out.split("\n\n")[1]


# --- sync_slurm_accounts --------------------------------------------------------------


def test_sync_accounts_local_has_nothing_to_do(settings, owner):
    settings.SCHEDULER_BACKEND = "local"

    out, _ = run_command("sync_slurm_accounts")

    assert out.strip() == "SCHEDULER_BACKEND is local, which has no Slurm accounts; nothing to do."


def test_sync_accounts_dry_run_lists_caps(settings, owner, other_user):
    settings.SCHEDULER_BACKEND = "slurm"
    QuotaOverride.objects.create(user=owner, kind="max_running", limit="3")

    out, _ = run_command("sync_slurm_accounts", "--dry-run")

    assert out.splitlines() == [
        f"alice: would ensure u_{owner.pk} MaxJobs=3 MaxSubmitJobs=20",
        f"bob: would ensure u_{other_user.pk} MaxJobs=10 MaxSubmitJobs=20",
    ]


def test_sync_accounts_reports_missing_slurm(settings, tmp_path, owner):
    settings.SCHEDULER_BACKEND = "slurm"
    settings.SLURM_BIN_DIR = str(tmp_path / "nowhere")
    err = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("sync_slurm_accounts", stdout=io.StringIO(), stderr=err)

    assert str(raised.value) == "Syncing the Slurm accounts of 1 user(s) failed: alice."
    assert "was not found; install Slurm's client commands or set SLURM_BIN_DIR" in err.getvalue()


# --- admission counters ------------------------------------------------------------------


def test_admit_counts_admissions_and_rejections(owner):
    get_limiter().reset("ai_generate", f"user:{owner.pk}")

    for _ in range(5):
        admit(owner, "ai_generate")
    with pytest.raises(QuotaExceeded):
        admit(owner, "ai_generate")

    minute = metrics.per_minute(1)[-1]
    assert minute["admitted"] == 5
    assert minute["rejected"] == 1
    assert metrics.rejections_by_user(60) == {owner.pk: 1}
    assert metrics.rejections_by_reason(60)["rate_limited"] == 1


def test_throttle_denials_are_counted(owner, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": {"label": "API requests", "rate": "2/day", "burst": None}}
    get_limiter().reset("api", f"user:{owner.pk}")
    client = client_for(owner)

    statuses = [client.get("/code/api/jobs/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert metrics.rejections_by_reason(60)["throttled"] == 1
    assert metrics.rejections_by_user(60) == {owner.pk: 1}


def test_job_limit_rejections_are_counted(owner, cancel_leftover_jobs):
    QuotaOverride.objects.create(user=owner, kind="max_submitted", limit="1")
    submit_job(owner, {"script": "import time\ntime.sleep(30)\n"})

    with pytest.raises(JobLimitExceeded):
        submit_job(owner, {"script": "print(1)\n"})

    assert metrics.rejections_by_reason(60)["job_limit_reached"] == 1
    assert metrics.per_hour(1)[-1] == {"start": metrics.per_hour(1)[-1]["start"], "admitted": 1, "rejected": 1}


def test_counters_expire():
    metrics.record_rejection("ai_suggest", 1, metrics.RATE_LIMITED)
    minute = int(time.time() // 60)

    assert 0 < get_redis().ttl(metrics.minute_key(minute)) <= metrics.MINUTE_TTL
    assert 0 < get_redis().ttl(metrics.hour_key(minute // 60)) <= metrics.HOUR_TTL


# --- queue depths and logs ------------------------------------------------------------------


def test_queue_depth_counts_broker_list():
    celery_app.control.purge()
    before = health.queue_depths()["vis_queue"]

    celery_app.send_task("apps.core.tasks.record_heartbeat", queue="vis_queue")
    celery_app.send_task("apps.core.tasks.record_heartbeat", queue="vis_queue", priority=6)

    try:
        assert health.queue_depths()["vis_queue"] == before + 2
        assert get_redis().llen(f"{django_settings.REDIS_PREFIX}:celery:vis_queue") >= 1
    finally:
        celery_app.control.purge()


def test_json_log_format_keeps_ids():
    record = logging.makeLogRecord(
        {"name": "apps.code_app", "levelname": "INFO", "msg": "job %s of user %s is %s", "args": (7, 3, "RUNNING")}
    )

    line = json.loads(JsonFormatter().format(record))

    assert line["message"] == "job 7 of user 3 is RUNNING"
    assert line["args"] == [7, 3, "RUNNING"]
    assert line["level"] == "INFO"
    assert line["logger"] == "apps.code_app"


def test_log_format_setting_selects_json():
    env = {**os.environ, "LOG_FORMAT": "json"}
    code = "from django.conf import settings; print(settings.LOGGING['handlers']['console']['formatter'])"

    result = subprocess.run(
        [sys.executable, "-c", f"import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'project.settings'); django.setup(); {code}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )

    assert result.stdout.strip() == "json"


# --- Procfile, Flower and Docker ----------------------------------------------------------------


def test_compose_commands_match_procfile():
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    processes = procfile()

    assert set(processes) == {"web", "worker", "beat", "poller", "flower", "slurmpush"}
    assert {"redis", "postgres", *processes} <= set(compose["services"])
    for name, line in processes.items():
        command = compose["services"][name]["command"]
        assert command[:2] == ["sh", "-c"], name
        assert command[2].replace("$$", "$") == line, name


def test_compose_publishes_on_loopback_only():
    compose = yaml.safe_load(COMPOSE_FILE.read_text())

    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), name


def test_flower_requires_basic_auth(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "FLOWER_PORT": str(port),
        "FLOWER_BASIC_AUTH": "ops:flower-test-password",
    }
    log = open(tmp_path / "flower.log", "w")
    process = subprocess.Popen(
        ["sh", "-c", f"exec {procfile()['flower']}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        status = wait_for_status(url, None, process)
        token = base64.b64encode(b"ops:flower-test-password").decode()
        assert status == 401
        assert wait_for_status(url, f"Basic {token}", process) == 200
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_flower_refuses_to_start_without_login():
    env = {key: value for key, value in os.environ.items() if key != "FLOWER_BASIC_AUTH"}

    result = subprocess.run(["sh", "-c", procfile()["flower"]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)

    assert result.returncode != 0
    assert "set FLOWER_BASIC_AUTH to user:password" in result.stderr


def wait_for_status(url, authorization, process, timeout=30.0):
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"flower exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"flower did not answer at {url} within {timeout} s")
