"""The fairness console: who may open it, its snapshot, live updates and its actions."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from apps.code_app.models import Job
from apps.code_app.schedulers.base import get_backend
from apps.code_app.services.poller import poll_once
from apps.code_app.services.submission import submit_job
from apps.core import admission
from apps.core.exceptions import AdmissionPaused
from apps.core.models import QuotaOverride
from apps.core.quotas import admit, job_caps_for
from apps.core.redis import get_redis, redis_key
from apps.dashboard import console_state
from apps.dashboard.models import AdminAction
from project.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("cancel_leftover_jobs")]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


@pytest.fixture(autouse=True)
def clean_console_keys():
    """Start each test with no counters, registrations or paused kinds left by another."""

    def clear():
        client = get_redis()
        for pattern in ("metrics:*", "console:*", "admission-paused", "worker-ping"):
            keys = list(client.scan_iter(match=redis_key(pattern), count=1000))
            if keys:
                client.delete(*keys)

    clear()
    yield
    clear()


def session_headers(user):
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()), ORIGIN, HOST]


async def connect(user=None):
    headers = await database_sync_to_async(session_headers)(user) if user else [ORIGIN, HOST]
    communicator = WebsocketCommunicator(application, "/ws/console/", headers=headers)
    connected, code = await communicator.connect(timeout=10)
    return communicator, connected, code


async def receive_until(communicator, text, *, timeout=20.0, poll=False):
    """Return the first message containing ``text``, running poller ticks while waiting if ``poll``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if poll:
            await database_sync_to_async(poll_once)(get_backend())
        # receive_from cancels the application when it times out, so wait
        # with receive_nothing and read only when a message is there.
        if await communicator.receive_nothing(timeout=0.3):
            continue
        message = await communicator.receive_from(timeout=5)
        if text in message:
            return message
    raise AssertionError(f"no message containing {text!r} within {timeout} s")


def finished_job(owner, *, cpus, hours_ago, hours):
    end = timezone.now() - timedelta(hours=hours_ago)
    return Job.objects.create(
        owner=owner, backend="local", name="finished", partition="normal", cpus=cpus, memory_gb=1,
        time_limit_minutes=600, script_path="a.py", state="COMPLETED", exit_code=0,
        start_time=end - timedelta(hours=hours), end_time=end,
    )


def staff_client(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


# --- who may open it ------------------------------------------------------------


def test_console_page_opens_for_staff(staff_user):
    response = staff_client(staff_user).get("/console/")

    assert response.status_code == 200
    assert 'ws-connect="/ws/console/"' in response.content.decode()


def test_console_page_forbidden_for_other_user(owner):
    client = Client()
    client.force_login(owner)

    assert client.get("/console/").status_code == 403


def test_console_page_redirects_anonymous_to_login(client):
    response = client.get("/console/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/console/"


def test_nav_links_console_for_staff_only(owner, staff_user):
    client = Client()
    client.force_login(owner)

    assert 'href="/console/"' not in client.get("/dashboard/").content.decode()
    assert 'href="/console/"' in staff_client(staff_user).get("/dashboard/").content.decode()


@pytest.mark.asyncio
async def test_socket_accepts_staff(staff_user):
    communicator, connected, _ = await connect(staff_user)

    assert connected
    await communicator.receive_from(timeout=10)
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_socket_closes_for_other_user(owner):
    communicator, connected, code = await connect(owner)

    assert not connected
    assert code == 4403


@pytest.mark.asyncio
async def test_socket_closes_for_anonymous(db):
    communicator, connected, code = await connect(None)

    assert not connected
    assert code == 4401


# --- what it shows ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_snapshot_shows_users_queues_and_fairness(owner, other_user, staff_user):
    await database_sync_to_async(finished_job)(owner, cpus=2, hours_ago=1, hours=1)
    await database_sync_to_async(finished_job)(other_user, cpus=1, hours_ago=1, hours=1)

    communicator, _, _ = await connect(staff_user)
    snapshot = await communicator.receive_from(timeout=10)

    assert '<table id="console-users-table" class="jobs console-users" hx-swap-oob="true">' in snapshot
    assert f'id="console-user-{owner.pk}" data-username="alice"' in snapshot
    assert f'id="console-user-{other_user.pk}" data-username="bob"' in snapshot
    # alice used 2 of 3 CPU-hours and bob 1; both targets are 1/2, so the
    # ratios are 4/3 and 2/3 and Jain's index is 2^2 / (2 * 20/9) = 0.9.
    assert '<dd class="figure" id="jain-24h">0.900</dd>' in snapshot
    assert "2.00" in snapshot
    assert 'data-queue="compute_queue"' in snapshot
    assert '<svg id="chart-hour"' in snapshot
    assert '<svg id="chart-day"' in snapshot
    assert 'class="sparkline"' in snapshot
    assert 'id="health-workers"' in snapshot
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_console_shows_job_of_other_user_live(owner, staff_user):
    communicator, _, _ = await connect(staff_user)
    await communicator.receive_from(timeout=10)

    job = await database_sync_to_async(submit_job)(owner, {"script": "import time\ntime.sleep(1)\n"})

    created = await receive_until(communicator, f'data-job="{job.pk}"')
    assert f'id="console-user-{owner.pk}"' in created
    assert '<tbody hx-swap-oob="afterbegin:#console-users">' in created
    assert '<td class="submitted">1 / 20</td>' in created
    assert '<td class="pending">1</td>' in created
    assert 'class="owner">alice</b>' in created
    running = await receive_until(communicator, 'data-state="RUNNING"', poll=True)
    assert f'<tr id="console-user-{owner.pk}" data-username="alice" hx-swap-oob="true">' in running
    assert '<td class="running">1 / 10</td>' in running
    assert '<td class="pending">0</td>' in running
    completed = await receive_until(communicator, 'data-state="COMPLETED"', poll=True)
    assert '<td class="submitted">0 / 20</td>' in completed
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_refresh_reaches_open_console_only(owner, staff_user):
    assert await database_sync_to_async(console_state.publish_console_refresh)() is False

    communicator, _, _ = await connect(staff_user)
    await communicator.receive_from(timeout=10)
    await database_sync_to_async(finished_job)(owner, cpus=4, hours_ago=2, hours=1)

    assert await database_sync_to_async(console_state.publish_console_refresh)() is True
    refresh = await receive_until(communicator, 'id="console-users"')
    assert f'id="console-user-{owner.pk}"' in refresh
    assert "4.00" in refresh
    await communicator.disconnect()
    assert await database_sync_to_async(console_state.connected_consoles)() == 0


@pytest.mark.asyncio
async def test_snapshot_resent_on_request(staff_user):
    communicator, _, _ = await connect(staff_user)
    await communicator.receive_from(timeout=10)

    await communicator.send_json_to({"action": "snapshot"})

    assert 'id="console-users"' in await communicator.receive_from(timeout=10)
    await communicator.disconnect()


# --- actions -----------------------------------------------------------------------


def test_cancel_jobs_cancels_every_active_job(owner, staff_user, other_user):
    first = submit_job(owner, {"script": "import time\ntime.sleep(60)\n"})
    second = submit_job(owner, {"script": "import time\ntime.sleep(60)\n"})
    untouched = submit_job(other_user, {"script": "import time\ntime.sleep(60)\n"})

    response = staff_client(staff_user).post("/console/actions/cancel-jobs/", {"user_id": owner.pk})

    assert response.status_code == 200
    assert "Requested cancellation of 2 job(s) of alice." in response.content.decode()
    for _ in range(50):
        poll_once(get_backend())
        if not Job.objects.filter(owner=owner).active().exists():
            break
    assert Job.objects.get(pk=first.pk).state == "CANCELLED"
    assert Job.objects.get(pk=second.pk).state == "CANCELLED"
    assert not Job.objects.get(pk=untouched.pk).is_final
    action = AdminAction.objects.get()
    assert action.action == "cancel_jobs"
    assert action.actor == staff_user
    assert action.target_username == "alice"
    assert action.details == {"cancelled": [first.pk, second.pk], "failed": []}


def test_actions_forbidden_for_other_user(owner, other_user):
    client = Client()
    client.force_login(other_user)
    submit_job(owner, {"script": "print(1)\n"})

    response = client.post("/console/actions/cancel-jobs/", {"user_id": owner.pk})

    assert response.status_code == 403
    assert not Job.objects.filter(cancel_requested=True).exists()
    assert not AdminAction.objects.exists()


def test_actions_reject_get(staff_user):
    assert staff_client(staff_user).get("/console/actions/pause/").status_code == 405


def test_set_override_changes_caps_and_is_logged(owner, staff_user):
    response = staff_client(staff_user).post(
        "/console/actions/override/", {"username": "alice", "kind": "max_running", "limit": "3", "note": "workshop"}
    )

    assert response.status_code == 200
    assert "alice now has max_running = 3." in response.content.decode()
    assert job_caps_for(owner.pk)["max_running"] == 3
    action = AdminAction.objects.get()
    assert action.action == "set_override"
    assert action.kind == "max_running"
    assert action.details == {"limit": "3", "burst": None, "note": "workshop", "previous": None}


def test_set_override_replaces_previous_one(owner, staff_user):
    QuotaOverride.objects.create(user=owner, kind="ai_suggest", limit="20/min")

    staff_client(staff_user).post(
        "/console/actions/override/", {"username": "alice", "kind": "ai_suggest", "limit": "30/min", "burst": "10"}
    )

    override = QuotaOverride.objects.get(user=owner, kind="ai_suggest")
    assert (override.limit, override.burst) == ("30/min", 10)
    assert AdminAction.objects.get().details["previous"] == {"limit": "20/min", "burst": None, "note": ""}


def test_set_override_rejects_invalid_limit(owner, staff_user):
    response = staff_client(staff_user).post(
        "/console/actions/override/", {"username": "alice", "kind": "max_running", "limit": "many"}
    )

    assert response.status_code == 400
    assert '<li data-field="limit">A job cap must be a whole number from 1 to 100000.</li>' in response.content.decode()
    assert not QuotaOverride.objects.exists()
    assert not AdminAction.objects.exists()


def test_set_override_rejects_unknown_user(staff_user):
    response = staff_client(staff_user).post(
        "/console/actions/override/", {"username": "zed", "kind": "max_running", "limit": "3"}
    )

    assert response.status_code == 400
    assert "No user is named &#x27;zed&#x27;; check the username." in response.content.decode()


def test_clear_override_restores_default(owner, staff_user, settings):
    QuotaOverride.objects.create(user=owner, kind="max_submitted", limit="5")

    response = staff_client(staff_user).post(
        "/console/actions/override/clear/", {"username": "alice", "kind": "max_submitted"}
    )

    assert response.status_code == 200
    assert job_caps_for(owner.pk)["max_submitted"] == settings.JOB_LIMITS["max_submitted"]
    action = AdminAction.objects.get()
    assert action.action == "clear_override"
    assert action.details == {"previous": {"limit": "5", "burst": None, "note": ""}}


def test_clear_override_without_one_is_rejected(owner, staff_user):
    response = staff_client(staff_user).post(
        "/console/actions/override/clear/", {"username": "alice", "kind": "max_submitted"}
    )

    assert response.status_code == 400
    assert "alice has no max_submitted override to clear." in response.content.decode()
    assert not AdminAction.objects.exists()


def test_pause_and_resume_admission(owner, staff_user):
    client = staff_client(staff_user)

    paused = client.post("/console/actions/pause/", {"kind": "ai_suggest"})

    assert paused.status_code == 200
    assert admission.paused_kinds() == ["ai_suggest"]
    with pytest.raises(AdmissionPaused):
        admit(owner, "ai_suggest")

    resumed = client.post("/console/actions/resume/", {"kind": "ai_suggest"})

    assert resumed.status_code == 200
    assert admission.paused_kinds() == []
    admit(owner, "ai_suggest")
    actions = list(AdminAction.objects.order_by("pk").values_list("action", "kind", "actor_username"))
    assert actions == [("pause_admission", "ai_suggest", "carol"), ("resume_admission", "ai_suggest", "carol")]


def test_pause_rejects_unknown_kind(staff_user):
    response = staff_client(staff_user).post("/console/actions/pause/", {"kind": "api"})

    assert response.status_code == 400
    assert admission.paused_kinds() == []


@pytest.mark.asyncio
async def test_action_reaches_open_console_with_audit_entry(staff_user):
    communicator, _, _ = await connect(staff_user)
    await communicator.receive_from(timeout=10)

    client = await database_sync_to_async(staff_client)(staff_user)
    await database_sync_to_async(client.post)("/console/actions/pause/", {"kind": "paper_search"})

    refresh = await receive_until(communicator, 'data-action="pause_admission"')
    assert '<tr data-kind="paper_search" data-paused="true">' in refresh
    assert "<td>carol</td><td>Pause admission</td>" in refresh
    await communicator.disconnect()
