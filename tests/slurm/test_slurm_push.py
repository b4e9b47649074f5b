"""Slurm pushes job states through its hooks; the consumer applies them without polling."""

import shutil
import socket
import subprocess
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.db import connection

from apps.code_app.models import Job
from apps.code_app.schedulers.base import get_backend
from apps.code_app.services import push
from apps.code_app.services.submission import cancel_job, submit_job
from apps.core import redis as core_redis
from tests.conftest import poll_until

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("cancel_leftover_jobs"),
]

PUSH_CONF = "/etc/slurm/push/push.conf"


def wait_for(predicate, timeout, interval=0.1):
    """Wait without polling the scheduler: only the push path may change jobs here."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def state_of(job_id):
    return Job.objects.get(pk=job_id).state


@pytest.fixture
def push_enabled(settings):
    settings.SLURM_PUSH = True
    call_command("setup_slurm_push")
    yield
    subprocess.run(["rm", "-f", PUSH_CONF], check=True, timeout=10)


class ConsumerThread:
    def __init__(self):
        self.stopping = False
        self.consumer = push.PushConsumer(get_backend(), block_ms=200)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            self.consumer.run(stop=lambda: self.stopping)
        finally:
            connection.close()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=10)


@pytest.fixture
def consumer(push_enabled):
    running = ConsumerThread().start()
    yield running
    running.stop()


def submit(user, script, **fields):
    return submit_job(user, {"script": script, **fields}).pk


@pytest.mark.asyncio
async def test_short_job_running_and_completed_reach_the_socket(owner, consumer):
    from tests.integration.test_dashboard_socket import connect

    communicator, connected, _ = await connect(owner)
    assert connected
    await communicator.receive_from(timeout=5)

    job = await database_sync_to_async(submit_job)(owner, {"script": "#!/bin/bash\nsleep 0.3\n"})

    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any('data-state="COMPLETED"' in m for m in seen):
        if await communicator.receive_nothing(timeout=0.2):
            continue
        seen.append(await communicator.receive_from(timeout=5))
    rows = [m for m in seen if f'id="job-{job.pk}"' in m]
    assert any('data-state="RUNNING"' in m for m in rows)
    assert any('data-state="COMPLETED"' in m for m in rows)
    await communicator.disconnect()


def test_final_states_arrive_by_push(owner, consumer):
    failed = submit(owner, "#!/bin/bash\nexit 3\n")
    running = submit(owner, "#!/bin/bash\nsleep 300\n")
    # Two 16-CPU jobs fill the node's 32 CPUs, so a third waits.
    blockers = [submit(owner, "#!/bin/bash\nsleep 300\n", cpus=16) for _ in range(2)]
    waiting = submit(owner, "#!/bin/bash\nsleep 300\n", cpus=16)

    wait_for(lambda: state_of(failed) == "FAILED", 30)
    wait_for(lambda: state_of(running) == "RUNNING", 30)
    cancel_job(Job.objects.get(pk=running))
    wait_for(lambda: state_of(running) == "CANCELLED", 30)
    wait_for(lambda: all(state_of(pk) == "RUNNING" for pk in blockers), 30)
    cancel_job(Job.objects.get(pk=waiting))
    wait_for(lambda: state_of(waiting) == "CANCELLED", 30)

    assert Job.objects.get(pk=failed).exit_code == 3
    assert Job.objects.get(pk=waiting).start_time is None
    assert Job.objects.get(pk=running).start_time is not None


def test_timeout_arrives_by_push(owner, consumer):
    job_id = submit(owner, "#!/bin/bash\nsleep 300\n", time_limit="1")

    wait_for(lambda: state_of(job_id) == "TIMEOUT", 150, interval=0.5)


def test_consumer_replays_the_stream_and_applies_nothing_twice(owner, push_enabled):
    client = core_redis.get_redis()
    newest = client.xrevrange(push.stream_key(), count=1)
    client.set(push.position_key(), newest[0][0] if newest else "0-0")
    before = client.xlen(push.stream_key())
    job_ids = [submit(owner, f"#!/bin/bash\nexit {code}\n") for code in (0, 2)]

    # No consumer runs: the events wait in the stream.
    wait_for(lambda: client.xlen(push.stream_key()) >= before + 4, 30)
    assert {state_of(pk) for pk in job_ids} == {"PENDING"}

    consumer = push.PushConsumer(get_backend(), block_ms=100)
    position = consumer.read_once(consumer.last_position())
    while True:
        later = consumer.read_once(position)
        if later == position:
            break
        position = later

    assert [state_of(pk) for pk in job_ids] == ["COMPLETED", "FAILED"]
    assert Job.objects.get(pk=job_ids[1]).exit_code == 2
    assert consumer.applied == 4
    assert core_redis.get_redis().get(push.position_key()).decode() == position

    again = push.PushConsumer(get_backend(), block_ms=100)
    again.read_once(newest[0][0].decode() if newest else "0-0")
    assert again.applied == 0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self, port, folder):
        self.port = port
        self.folder = folder
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                                        timeout=5).stdout.strip() == b"PONG", 10)

    def stop(self):
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(settings, tmp_path):
    server = PrivateRedis(free_port(), tmp_path)
    server.start()
    url = f"redis://127.0.0.1:{server.port}/0"
    settings.REDIS_URL = url
    core_redis._clients.clear()
    yield server
    if server.process.poll() is None:
        server.stop()
    core_redis._clients.clear()


def test_states_are_repaired_after_redis_returns(owner, private_redis, settings):
    settings.SLURM_PUSH = True
    call_command("setup_slurm_push")
    consumer = ConsumerThread().start()
    try:
        job_id = submit(owner, "#!/bin/bash\nsleep 4\n")
        wait_for(lambda: state_of(job_id) == "RUNNING", 30)

        private_redis.stop()
        time.sleep(8)
        # The job ended while Redis was down: its final event was lost.
        assert state_of(job_id) == "RUNNING"
        private_redis.start()
        call_command("setup_slurm_push")

        wait_for(lambda: state_of(job_id) == "COMPLETED", 60, interval=0.5)
        assert int(core_redis.get_redis().get(push.repairs_key()) or 0) >= 1
    finally:
        consumer.stop()
        subprocess.run(["rm", "-f", PUSH_CONF], check=True, timeout=10)
