"""Writer tasks end to end: API, Redis, a real Celery worker, and fake AI providers over HTTP."""

import shutil
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from apps.writer_app.services.upstream import parse_retry_after
from tests.conftest import client_for
from tests.integration.celery_worker import wait_for_task

pytestmark = [pytest.mark.django_db(transaction=True)]

PASSAGE = "Our scheduler is very fair. It gives every user a share."
GOOD_LATEX = "\\documentclass{article}\n\\begin{document}\nShares are $1/n$.\n\\end{document}\n"
BAD_LATEX = "\\documentclass{article}\n\\begin{document}\nShares.\n\n\\badcommand\n\\end{document}\n"


def suggest(client, text=PASSAGE):
    response = client.post("/writer/api/suggest/", {"text": text, "section": "methods"}, format="json")
    assert response.status_code == 202, response.content
    return response.json()["task_id"]


def test_retry_after_seconds_and_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)

    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_offline_suggestion_is_labelled_offline(live_worker, owner_client, other_client):
    task_id = suggest(owner_client)

    record = wait_for_task(task_id)
    answer = owner_client.get(f"/api/tasks/{task_id}/")

    assert record.state == "SUCCESS", record.error
    assert record.result["provider"] == "offline"
    assert "offline" in record.result["label"]
    assert "Replace 'very' with a more precise word." in record.result["suggestions"]
    assert answer.status_code == 200
    assert answer.json()["state"] == "SUCCESS"
    assert answer.json()["result"]["section"] == "methods"
    assert other_client.get(f"/api/tasks/{task_id}/").status_code == 404


def test_suggestion_through_anthropic(live_worker, owner_client, settings, fake_services):
    settings.AI_PROVIDER = "anthropic"

    record = wait_for_task(suggest(owner_client))

    assert record.state == "SUCCESS", record.error
    assert record.result["provider"] == "anthropic"
    assert record.result["suggestions"] == [
        "Name the scheduler you compare against.",
        "Give the share of each user as a number.",
    ]
    [request] = fake_services.ai.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "test-key-not-secret"
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = request.json()
    assert set(body) == {"model", "max_tokens", "messages"}
    assert PASSAGE in body["messages"][0]["content"]


def test_generation_through_openai(live_worker, owner_client, settings, fake_services):
    settings.AI_PROVIDER = "openai"

    response = owner_client.post("/writer/api/generate/", {"prompt": "An abstract on GCRA"}, format="json")
    record = wait_for_task(response.json()["task_id"])

    assert record.state == "SUCCESS", record.error
    assert record.result["provider"] == "openai"
    assert record.result["text"] == "A fake draft about An abstract on GCRA"
    [request] = fake_services.ai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key-not-secret"


def test_provider_429_is_retried_after_its_retry_after(live_worker, owner_client, settings, fake_services):
    settings.AI_PROVIDER = "anthropic"
    fake_services.ai.fail(429, times=1, headers={"Retry-After": "1"})

    record = wait_for_task(suggest(owner_client))

    assert record.state == "SUCCESS", record.error
    assert record.attempts == 2
    first, second = fake_services.ai.requests
    assert first.received_at + 0.9 <= second.received_at


def test_provider_retry_after_as_http_date(live_worker, owner_client, settings, fake_services):
    settings.AI_PROVIDER = "openai"
    when = datetime.now(timezone.utc) + timedelta(seconds=2)
    fake_services.ai.fail(429, times=1, headers={"Retry-After": format_datetime(when, usegmt=True)})

    record = wait_for_task(suggest(owner_client))

    assert record.state == "SUCCESS", record.error
    assert record.attempts == 2
    first, second = fake_services.ai.requests
    assert first.received_at + 0.9 <= second.received_at


def test_provider_5xx_then_success(live_worker, owner_client, settings, fake_services):
    settings.AI_PROVIDER = "anthropic"
    fake_services.ai.fail(503, times=1)

    record = wait_for_task(suggest(owner_client))

    assert record.state == "SUCCESS", record.error
    assert record.attempts == 2
    assert len(fake_services.ai.requests) == 2


def test_provider_5xx_forever_fails_with_reason(live_worker, owner_client, settings, fake_services):
    settings.AI_PROVIDER = "anthropic"
    fake_services.ai.fail(529, times=None)

    record = wait_for_task(suggest(owner_client))

    assert record.state == "FAILURE"
    assert "Anthropic Messages API returned HTTP 529 (overloaded_error: fake overloaded_error)." in record.error
    assert "Gave up after 3 attempts." in record.error
    assert record.attempts == 3
    assert len(fake_services.ai.requests) == 3


def test_provider_client_error_fails_at_once(live_worker, owner_client, settings, fake_services):
    settings.AI_PROVIDER = "anthropic"
    fake_services.ai.fail(400, times=1)

    record = wait_for_task(suggest(owner_client))

    assert record.state == "FAILURE"
    assert record.error == "Anthropic Messages API returned HTTP 400 (invalid_request_error: fake invalid_request_error)."
    assert record.attempts == 1


def test_suggest_rejects_missing_text(live_worker, owner_client):
    response = owner_client.post("/writer/api/suggest/", {"text": "  "}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "text is missing; send the text to work on."


@pytest.fixture
def latex_installed():
    if not (shutil.which("latexmk") or shutil.which("pdflatex")):
        pytest.fail("latexmk or pdflatex is missing; install texlive-latex-base and latexmk")


def test_compile_stores_pdf_and_log(live_worker, latex_installed, owner, owner_client, other_user):
    response = owner_client.post("/writer/api/compile/", {"source": GOOD_LATEX}, format="json")
    record = wait_for_task(response.json()["task_id"], timeout=60)

    assert record.state == "SUCCESS", record.error
    result = record.result
    assert result["pdf_path"] == f"latex/{record.task_id}/main.pdf"
    assert result["pdf_bytes"] > 1000
    assert "Output written on main.pdf (1 page" in result["log_tail"]
    pdf = owner_client.get(result["pdf_url"])
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")
    assert client_for(other_user).get(result["pdf_url"]).status_code == 404


def test_compile_error_names_the_log_line(live_worker, latex_installed, owner_client):
    response = owner_client.post("/writer/api/compile/", {"source": BAD_LATEX}, format="json")
    record = wait_for_task(response.json()["task_id"], timeout=60)

    assert record.state == "FAILURE"
    assert record.error == (
        "LaTeX compile failed: ! Undefined control sequence. (l.5 \\badcommand). "
        f"The full log is latex/{record.task_id}/main.log in your workspace."
    )
