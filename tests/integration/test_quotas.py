"""Quotas end to end: admission before enqueue, throttles, status and live meters."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from apps.code_app.models import Job
from apps.code_app.services.submission import submit_job
from apps.core.exceptions import JobLimitExceeded
from apps.core.models import QuotaOverride, TaskRecord
from apps.core.quotas import get_limiter, get_user_quota_status
from apps.core.redis import get_redis
from apps.core.router import Tier, route
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def queue_length(name):
    from django.conf import settings

    return get_redis().llen(f"{settings.REDIS_PREFIX}:celery:{name}")


@pytest.fixture(autouse=True)
def fresh_limits(owner):
    for kind in ("ai_suggest", "ai_generate", "paper_search", "pdf_process", "api"):
        get_limiter().reset(kind, f"user:{owner.pk}")
    yield


def test_suggest_over_limit_answers_429_and_enqueues_nothing(owner_client):
    before = queue_length("ai_queue")
    accepted = [owner_client.post("/writer/api/suggest/", {"text": "A draft."}, format="json") for _ in range(5)]
    records = TaskRecord.objects.count()
    queued = queue_length("ai_queue")

    rejected = owner_client.post("/writer/api/suggest/", {"text": "A draft."}, format="json")

    assert [response.status_code for response in accepted] == [202] * 5
    assert queued == before + 5
    assert rejected.status_code == 429
    assert rejected["Retry-After"] == "6"
    body = rejected.json()
    assert body["error"] == "rate_limited"
    assert body["retry_after"] == 6
    assert body["limit"] == 5
    assert body["remaining"] == 0
    assert TaskRecord.objects.count() == records
    assert queue_length("ai_queue") == queued


@pytest.mark.parametrize(
    ("url", "data", "kind", "queue", "burst"),
    [
        ("/writer/api/generate/", {"prompt": "An abstract."}, "ai_generate", "ai_queue", 5),
        ("/scholar/api/search/", {"query": "fair share"}, "paper_search", "search_queue", 30),
    ],
)
def test_each_async_endpoint_is_admitted_by_its_quota(owner, owner_client, url, data, kind, queue, burst):
    QuotaOverride.objects.create(user=owner, kind=kind, limit="2/min")

    answers = [owner_client.post(url, data, format="json").status_code for _ in range(3)]

    assert answers == [202, 202, 429]
    assert TaskRecord.objects.filter(owner=owner, kind=kind).count() == 2


def test_quota_endpoint_spends_nothing(owner, owner_client):
    owner_client.post("/writer/api/suggest/", {"text": "One."}, format="json")

    first = owner_client.get("/api/quota/").json()
    second = owner_client.get("/api/quota/").json()

    suggest = first["rates"]["ai_suggest"]
    assert suggest["remaining"] == 4
    assert suggest["limit"] == 5
    assert 0 < suggest["reset_in"] <= 6
    assert second["rates"]["ai_suggest"]["remaining"] == 4
    assert first["jobs"] == {"running": 0, "submitted": 0, "max_running": 10, "max_submitted": 20}


def test_override_replaces_default_policy(owner, owner_client):
    QuotaOverride.objects.create(user=owner, kind="ai_suggest", limit="60/min", burst=20)
    QuotaOverride.objects.create(user=owner, kind="max_submitted", limit="3")

    status = get_user_quota_status(owner)

    assert status["rates"]["ai_suggest"]["limit"] == 20
    assert status["rates"]["ai_suggest"]["rate"] == "60/min"
    assert status["jobs"]["max_submitted"] == 3


def test_forty_simultaneous_submissions_admit_exactly_twenty(owner):
    barrier = threading.Barrier(40)

    def attempt(index):
        barrier.wait()
        try:
            submit_job(owner, {"script": "print(1)\n", "name": f"race{index}"})
            return "admitted"
        except JobLimitExceeded:
            return "rejected"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(attempt, range(40)))

    assert outcomes.count("admitted") == 20
    assert outcomes.count("rejected") == 20
    assert Job.objects.filter(owner=owner).count() == 20


def test_api_throttle_answers_429_with_retry_after(owner, owner_client):
    QuotaOverride.objects.create(user=owner, kind="api", limit="3/hour")

    answers = [owner_client.get("/code/api/jobs/") for _ in range(4)]

    assert [response.status_code for response in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) == 1200
    assert answers[-1].json() == {
        "error": "throttled",
        "detail": "Too many requests; try again in 1200 s.",
        "retry_after": 1200,
        "limit": 3,
        "remaining": 0,
    }


def test_anonymous_throttle_ignores_spoofed_forwarded_for(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "anon": {"label": "Anonymous", "rate": "2/day", "burst": 2}}
    settings.TRUSTED_PROXY_COUNT = 0
    get_limiter().reset("anon", "ip:127.0.0.1")

    answers = [
        client.get("/api/quota/", HTTP_X_FORWARDED_FOR=f"10.0.0.{index}").status_code for index in range(4)
    ]

    assert answers == [401, 401, 429, 429]
    get_limiter().reset("anon", "ip:127.0.0.1")


def test_trusted_proxy_supplies_client_ip(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "anon": {"label": "Anonymous", "rate": "1/day", "burst": 1}}
    settings.TRUSTED_PROXY_COUNT = 1
    for address in ("203.0.113.7", "203.0.113.8"):
        get_limiter().reset("anon", f"ip:{address}")

    # The client wrote the left address itself; only the proxy's entry counts.
    first = client.get("/api/quota/", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7")
    second = client.get("/api/quota/", HTTP_X_FORWARDED_FOR="198.51.100.2, 203.0.113.7")
    other = client.get("/api/quota/", HTTP_X_FORWARDED_FOR="203.0.113.8")

    assert first.status_code == 401
    assert second.status_code == 429
    assert other.status_code == 401
    for address in ("203.0.113.7", "203.0.113.8"):
        get_limiter().reset("anon", f"ip:{address}")


def test_router_sends_large_batches_to_compute():
    assert route("script") is Tier.COMPUTE
    assert route("ai_suggest") is Tier.ASYNC
    assert route("pdf_process", 99) is Tier.ASYNC
    assert route("pdf_process", 100) is Tier.COMPUTE
    assert route("figure_export", 250) is Tier.COMPUTE
    assert route("figure_save") is Tier.INTERACTIVE
    with pytest.raises(ValueError, match="unknown kind of work 'mining'"):
        route("mining")


def test_celery_settings_route_and_limit_tasks():
    from project.celery import app

    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.worker_concurrency == 4
    assert app.conf.task_acks_late is True
    assert app.amqp.router.route({}, "apps.writer_app.tasks.ai_suggest")["queue"].name == "ai_queue"
    assert app.amqp.router.route({}, "apps.scholar_app.tasks.search_papers")["queue"].name == "search_queue"
    assert app.conf.task_annotations["apps.writer_app.tasks.ai_suggest"] == {"rate_limit": "120/m"}
    assert app.conf.task_annotations["apps.scholar_app.tasks.process_pdf"] == {"rate_limit": "200/m"}


@pytest.mark.asyncio
async def test_dashboard_receives_quota_update_after_spend(owner):
    from tests.integration.test_dashboard_socket import connect

    communicator, connected, _ = await connect(owner)
    assert connected
    snapshot = await communicator.receive_from(timeout=5)
    assert 'id="quota-ai_suggest"' in snapshot

    client = await database_sync_to_async(client_for)(owner)
    response = await database_sync_to_async(client.post)("/writer/api/suggest/", {"text": "Hi."}, format="json")
    assert response.status_code == 202

    messages = []
    while not await communicator.receive_nothing(timeout=1.0):
        messages.append(await communicator.receive_from(timeout=5))
    meter = next(message for message in messages if 'id="quota-ai_suggest"' in message)
    assert 'hx-swap-oob="true"' in meter
    assert 'data-remaining="4"' in meter
    await communicator.disconnect()
