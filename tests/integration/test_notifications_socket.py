"""/ws/notifications/ and the dashboard's recent tasks: task results pushed by a real worker."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from project.asgi import application
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


def session_headers(user):
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()), ORIGIN, HOST]


async def connect(user, path="/ws/notifications/?app=writer"):
    headers = await database_sync_to_async(session_headers)(user)
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def receive_until(communicator, *texts, timeout=20.0):
    """Return the first message containing all ``texts``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        # receive_from cancels the application when it times out, so wait
        # with receive_nothing and read only when a message is there.
        if await communicator.receive_nothing(timeout=0.2):
            continue
        message = await communicator.receive_from(timeout=5)
        if all(text in message for text in texts):
            return message
    raise AssertionError(f"no message containing {texts!r} within {timeout} s")


async def post(user, url, data):
    response = await database_sync_to_async(client_for(user).post)(url, data, format="json")
    assert response.status_code == 202, response.content
    return response.json()["task_id"]


@pytest.mark.asyncio
async def test_writer_page_gets_suggestion_result(live_worker, owner):
    communicator = await connect(owner)
    snapshot = await communicator.receive_from(timeout=5)

    task_id = await post(owner, "/writer/api/suggest/", {"text": "It is very fast."})

    assert '<div id="task-list" hx-swap-oob="true">' in snapshot
    assert 'id="stream-seq"' in snapshot
    created = await receive_until(communicator, f'id="task-{task_id}"')
    assert '<div hx-swap-oob="afterbegin:#task-list">' in created
    done = await receive_until(communicator, f'id="task-{task_id}"', 'data-state="SUCCESS"')
    assert 'hx-swap-oob="true"' in done
    assert "Replace &#x27;very&#x27; with a more precise word." in done
    assert "offline provider" in done
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_failure_is_pushed_with_reason(live_worker, owner):
    communicator = await connect(owner, "/ws/notifications/?app=scholar")
    await communicator.receive_from(timeout=5)

    task_id = await post(owner, "/scholar/api/metadata/", {"doi": "10.9999/not-offline"})

    failed = await receive_until(communicator, f'id="task-{task_id}"', 'data-state="FAILURE"')
    assert "DOI 10.9999/not-offline is not in the offline data set" in failed
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_snapshot_lists_recent_tasks_of_the_page(live_worker, owner):
    task_id = await post(owner, "/writer/api/suggest/", {"text": "Short."})
    await post(owner, "/scholar/api/search/", {"query": "fair"})

    communicator = await connect(owner, "/ws/notifications/?app=writer")
    snapshot = await communicator.receive_from(timeout=5)

    assert f'id="task-{task_id}"' in snapshot
    assert 'data-kind="paper_search"' not in snapshot
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_other_pages_and_users_get_no_card(live_worker, owner, other_user):
    vis_page = await connect(owner, "/ws/notifications/?app=vis")
    other = await connect(other_user)
    await vis_page.receive_from(timeout=5)
    await other.receive_from(timeout=5)

    task_id = await post(owner, "/writer/api/suggest/", {"text": "Short."})
    await asyncio.sleep(2)

    vis_messages = []
    while not await vis_page.receive_nothing(timeout=0.2):
        vis_messages.append(await vis_page.receive_from(timeout=5))
    assert vis_messages
    assert all(message.startswith('<span id="stream-seq"') for message in vis_messages)
    assert all(task_id not in message for message in vis_messages)
    assert await other.receive_nothing(timeout=0.5)
    await vis_page.disconnect()
    await other.disconnect()


@pytest.mark.asyncio
async def test_notifications_reject_anonymous(db):
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=[ORIGIN, HOST])

    connected, code = await communicator.connect(timeout=5)

    assert not connected
    assert code == 4401


@pytest.mark.asyncio
async def test_dashboard_lists_recent_tasks_live(live_worker, owner):
    communicator = await connect(owner, "/ws/dashboard/")
    snapshot = await communicator.receive_from(timeout=5)

    task_id = await post(owner, "/writer/api/suggest/", {"text": "Short."})

    assert '<tbody id="task-rows" hx-swap-oob="true">' in snapshot
    created = await receive_until(communicator, f'id="taskrow-{task_id}"')
    assert '<tbody hx-swap-oob="afterbegin:#task-rows">' in created
    done = await receive_until(communicator, f'id="taskrow-{task_id}" data-state="SUCCESS" hx-swap-oob="true"')
    assert "ai_suggest" in done
    await communicator.disconnect()
