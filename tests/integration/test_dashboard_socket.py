"""The dashboard socket: authorisation, the snapshot on connect and pushed job changes."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from apps.code_app.models import Job
from apps.code_app.schedulers.base import get_backend
from apps.code_app.services.poller import poll_once
from apps.code_app.services.submission import submit_job
from project.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("cancel_leftover_jobs")]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def session_headers(user):
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return [(b"cookie", cookie), ORIGIN, (b"host", b"127.0.0.1:8000")]


async def connect(user, headers=None):
    if headers is None:
        headers = await database_sync_to_async(session_headers)(user)
    communicator = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def receive_until(communicator, text, timeout=20.0):
    """Return the first message containing ``text``, running poller ticks while waiting."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        await database_sync_to_async(poll_once)(get_backend())
        # receive_from cancels the application when it times out, so wait
        # with receive_nothing and read only when a message is there.
        if await communicator.receive_nothing(timeout=0.3):
            continue
        message = await communicator.receive_from(timeout=5)
        if text in message:
            return message
    raise AssertionError(f"no message containing {text!r} within {timeout} s")


@pytest.mark.asyncio
async def test_socket_sends_snapshot_on_connect(owner):
    await database_sync_to_async(Job.objects.create)(
        owner=owner, backend="local", name="earlier", partition="normal", cpus=1, memory_gb=1,
        time_limit_minutes=5, script_path="a.py", state="COMPLETED", exit_code=0,
    )

    communicator, connected, _ = await connect(owner)
    snapshot = await communicator.receive_from(timeout=5)

    assert connected
    assert '<tbody id="job-rows" hx-swap-oob="true">' in snapshot
    assert "earlier" in snapshot
    assert "COMPLETED" in snapshot
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_socket_receives_pushed_state_changes(owner):
    communicator, connected, _ = await connect(owner)
    assert connected
    await communicator.receive_from(timeout=5)

    job = await database_sync_to_async(submit_job)(owner, {"script": "import time\ntime.sleep(1)\nprint(42)\n"})

    created = await communicator.receive_from(timeout=5)
    assert f'id="job-{job.pk}"' in created
    assert '<tbody hx-swap-oob="afterbegin:#job-rows">' in created
    assert "PENDING" in created
    running = await receive_until(communicator, 'data-state="RUNNING"')
    assert f'id="job-{job.pk}" data-state="RUNNING" hx-swap-oob="true"' in running
    completed = await receive_until(communicator, 'data-state="COMPLETED"')
    assert f'id="job-{job.pk}"' in completed
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_socket_gets_only_own_jobs(owner, other_user):
    communicator, _, _ = await connect(other_user)
    await communicator.receive_from(timeout=5)

    await database_sync_to_async(submit_job)(owner, {"script": "print(1)\n"})

    assert await communicator.receive_nothing(timeout=1.0)
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_socket_resends_snapshot_on_request(owner):
    communicator, _, _ = await connect(owner)
    await communicator.receive_from(timeout=5)

    await communicator.send_json_to({"action": "snapshot"})

    assert 'id="job-rows"' in await communicator.receive_from(timeout=5)
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_socket_rejects_anonymous(db):
    communicator, connected, code = await connect(None, headers=[ORIGIN, (b"host", b"127.0.0.1:8000")])

    assert not connected
    assert code == 4401


@pytest.mark.asyncio
async def test_socket_rejects_foreign_origin(owner):
    headers = await database_sync_to_async(session_headers)(owner)
    headers = [h for h in headers if h[0] != b"origin"] + [(b"origin", b"http://evil.example")]

    communicator, connected, _ = await connect(owner, headers=headers)

    assert not connected


@pytest.mark.asyncio
async def test_socket_shows_stale_scheduler_banner(owner):
    from apps.code_app.services.scheduler_status import set_scheduler_status

    await database_sync_to_async(Job.objects.create)(
        owner=owner, backend="local", name="waiting", partition="normal", cpus=1, memory_gb=1,
        time_limit_minutes=5, script_path="a.py", scheduler_job_id="9",
    )
    communicator, connected, _ = await connect(owner)
    assert connected
    await communicator.receive_from(timeout=5)

    await database_sync_to_async(set_scheduler_status)(stale=True, error="squeue timed out")
    stale = await communicator.receive_from(timeout=5)
    await database_sync_to_async(set_scheduler_status)(stale=False)
    current = await communicator.receive_from(timeout=5)

    assert 'id="scheduler-status" hx-swap-oob="true" data-stale="true"' in stale
    assert "job states may be out of date" in stale
    assert 'data-stale="false"' in current
    await communicator.disconnect()
