"""Admission of async work: a spent quota returns 429 before anything is stored or queued,
and the platform-wide limit of a task type delays a task without running it twice."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.models import QuotaOverride, TaskRecord
from apps.core.quotas import get_limiter
from apps.core.ratelimit import RateLimitPolicy
from apps.vis_app.models import Figure
from tests.fakes.pdfs import make_pdf
from tests.integration.celery_worker import queue_lengths, wait_for_task

pytestmark = [pytest.mark.django_db(transaction=True)]

# The worker of this module allows 30 ai_generate tasks a minute for the
# whole platform, so one is admitted every 2 s once the burst is spent.
GENERATE_PLATFORM_RATE = "30/m"
WORKER_ENV = {"TASK_RATE_LIMIT_AI_GENERATE": GENERATE_PLATFORM_RATE}


@pytest.fixture(autouse=True)
def fresh_limits(owner, settings):
    for kind in settings.RATE_LIMITS:
        get_limiter().reset(kind, f"user:{owner.pk}")


def pdf_upload():
    return {"file": [SimpleUploadedFile("a.pdf", make_pdf(), content_type="application/pdf")]}


def figure_export_url(owner):
    figure = Figure.objects.create(owner=owner, name="f", spec={"kind": "line", "series": []})
    return f"/vis/api/figures/{figure.pk}/export/"


CASES = [
    ("ai_suggest", "/writer/api/suggest/", lambda owner: {"text": "A draft."}, "json", "ai_queue"),
    ("ai_generate", "/writer/api/generate/", lambda owner: {"prompt": "An abstract."}, "json", "ai_queue"),
    ("latex_compile", "/writer/api/compile/", lambda owner: {"source": "\\relax"}, "json", "ai_queue"),
    ("paper_search", "/scholar/api/search/", lambda owner: {"query": "fair"}, "json", "search_queue"),
    ("metadata", "/scholar/api/metadata/", lambda owner: {"doi": "10.1145/35043.35047"}, "json", "search_queue"),
    ("pdf_process", "/scholar/api/pdf/", lambda owner: pdf_upload(), "multipart", "search_queue"),
    ("figure_export", None, lambda owner: {"format": "png"}, "json", "vis_queue"),
]


@pytest.mark.parametrize(("kind", "url", "data", "encoding", "queue"), CASES, ids=[case[0] for case in CASES])
def test_spent_quota_answers_429_and_enqueues_nothing(owner, owner_client, kind, url, data, encoding, queue):
    QuotaOverride.objects.create(user=owner, kind=kind, limit="1/min")
    url = url or figure_export_url(owner)
    first = owner_client.post(url, data(owner), format=encoding)
    records = TaskRecord.objects.count()
    queued = queue_lengths()

    rejected = owner_client.post(url, data(owner), format=encoding)

    assert first.status_code == 202, first.content
    assert rejected.status_code == 429
    assert 55 <= int(rejected["Retry-After"]) <= 60
    body = rejected.json()
    assert body["error"] == "rate_limited"
    assert body["retry_after"] == int(rejected["Retry-After"])
    assert body["limit"] == 1
    assert body["remaining"] == 0
    assert body["kind"] == kind
    assert TaskRecord.objects.count() == records
    assert queue_lengths() == queued
    assert queued[queue] >= 1


def test_batch_larger_than_remaining_quota_is_rejected_whole(owner, owner_client):
    QuotaOverride.objects.create(user=owner, kind="pdf_process", limit="3/min")
    files = [SimpleUploadedFile(f"{index}.pdf", make_pdf(), content_type="application/pdf") for index in range(2)]
    owner_client.post("/scholar/api/pdf/", {"file": files[:1]}, format="multipart")
    owner_client.post("/scholar/api/pdf/", {"file": files[1:]}, format="multipart")
    records = TaskRecord.objects.count()

    more = [SimpleUploadedFile(f"x{index}.pdf", make_pdf(), content_type="application/pdf") for index in range(2)]
    rejected = owner_client.post("/scholar/api/pdf/", {"file": more}, format="multipart")

    assert rejected.status_code == 429
    assert rejected.json()["remaining"] == 1
    assert TaskRecord.objects.count() == records


def test_platform_limit_delays_task_once(live_worker, owner_client):
    policy = RateLimitPolicy.parse(GENERATE_PLATFORM_RATE)
    limiter = get_limiter()
    limiter.reset("task-ai_generate", "all")
    for _ in range(policy.burst):
        limiter.hit("task-ai_generate", "all", policy)

    response = owner_client.post("/writer/api/generate/", {"prompt": "An abstract."}, format="json")
    task_id = response.json()["task_id"]
    waiting = wait_for_task(task_id, "RETRY", "SUCCESS", "FAILURE", timeout=10)
    done = wait_for_task(task_id, timeout=20)

    assert waiting.state == "RETRY"
    assert waiting.error.startswith("waiting ")
    assert waiting.error.endswith(" s for the platform-wide apps.writer_app.tasks.ai_generate limit")
    assert waiting.attempts == 0
    assert done.state == "SUCCESS"
    assert done.attempts == 1
    assert done.result["text"] == "Draft on: An abstract."
