"""/healthz: each component's state, 200 when all are healthy and 503 otherwise."""

import shutil
import socket
import subprocess
import time

import pytest

from apps.code_app.schedulers.base import get_backend
from apps.code_app.services.poller import run_forever
from apps.core import health
from apps.core import redis as core_redis
from apps.core.redis import get_redis

pytestmark = pytest.mark.django_db


class FakeBackend:
    name = "local"

    def __init__(self, *, reachable=True):
        self.scheduler_reachable = reachable


@pytest.fixture(autouse=True)
def clean_heartbeats():
    keys = [health.poller_heartbeat_key(), health.worker_heartbeat_key(), health.worker_ping_key()]
    get_redis().delete(*keys)
    yield
    get_redis().delete(*keys)


def write_heartbeats(*, reached_scheduler=True):
    health.record_poller_heartbeat(FakeBackend(), reached_scheduler=reached_scheduler)
    get_redis().set(health.worker_heartbeat_key(), time.time(), ex=120)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_redis(settings):
    """Point the app at a redis-server of this test's own, which the test may stop."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing; install Debian's redis-server package")
    port = free_port()
    original_url = settings.REDIS_URL
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    core_redis._clients.clear()

    deadline = time.monotonic() + 10
    while True:
        try:
            get_redis().ping()
            break
        except Exception:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)
    # Other fixtures clean up in Redis after this one, so the shared server
    # must be back before they run.
    settings.REDIS_URL = original_url
    core_redis._clients.clear()


def test_healthz_healthy_when_all_components_answer(client):
    write_heartbeats()

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "redis", "scheduler", "workers"}
    for name, component in body["components"].items():
        assert component["ok"], name
    assert body["components"]["scheduler"]["backend"] == "local"
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_without_poller_is_unhealthy(client):
    get_redis().set(health.worker_heartbeat_key(), time.time(), ex=120)

    response = client.get("/healthz")

    scheduler = response.json()["components"]["scheduler"]
    assert response.status_code == 503
    assert not scheduler["ok"]
    assert scheduler["detail"] == "The poller has not written a heartbeat; start it (manage.py run_poller)."


def test_healthz_stale_poller_is_unhealthy(client, settings):
    write_heartbeats()
    stale = time.time() + health.poller_max_age() + 5

    scheduler = health.check_scheduler(now=stale)

    assert not scheduler["ok"]
    assert "it is stopped or stuck" in scheduler["detail"]


def test_healthz_poll_missing_controller_is_unhealthy(client):
    write_heartbeats(reached_scheduler=False)

    response = client.get("/healthz")

    scheduler = response.json()["components"]["scheduler"]
    assert response.status_code == 503
    assert scheduler["reached_scheduler"] is False
    assert scheduler["detail"] == "The poller runs but its last poll did not reach the scheduler."


def test_backend_can_report_unreachable_controller():
    health.record_poller_heartbeat(FakeBackend(reachable=False), reached_scheduler=True)

    assert health.check_scheduler()["reached_scheduler"] is False


def test_healthz_without_worker_heartbeat_is_unhealthy(client):
    health.record_poller_heartbeat(FakeBackend(), reached_scheduler=True)

    response = client.get("/healthz")

    workers = response.json()["components"]["workers"]
    assert response.status_code == 503
    assert not workers["ok"]
    assert workers["detail"] == "No worker ran the heartbeat task in 120 s; start a worker and beat."


def test_healthz_turns_unhealthy_when_redis_stops(client, private_redis, settings):
    write_heartbeats()
    assert client.get("/healthz").status_code == 200

    private_redis.terminate()
    private_redis.wait(timeout=10)
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unhealthy"
    assert body["components"]["redis"]["ok"] is False
    assert body["components"]["redis"]["detail"] == "Redis did not answer PING (ConnectionError)."
    assert body["components"]["database"]["ok"] is True
    assert settings.REDIS_URL not in response.content.decode()


def test_poller_writes_heartbeat_each_tick():
    checks = []

    def stop_after_first_tick():
        checks.append(True)
        return len(checks) > 1

    run_forever(get_backend(), 0.1, stop=stop_after_first_tick)

    scheduler = health.check_scheduler()
    assert scheduler["ok"]
    assert scheduler["reached_scheduler"] is True
    assert scheduler["age_seconds"] < 5
