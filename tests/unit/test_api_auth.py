"""The job API authenticates by session (with CSRF) and by token."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

SUBMIT = "/code/api/jobs/submit/"
BODY = '{"script": "print(1)\\n"}'


@pytest.fixture
def session_client(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    return client


def test_session_post_without_csrf_token_is_forbidden(session_client):
    response = session_client.post(SUBMIT, BODY, content_type="application/json")

    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert "CSRF" in response.json()["detail"]


def test_session_post_with_csrf_token_is_accepted(session_client):
    session_client.get("/dashboard/")
    token = session_client.cookies["csrftoken"].value

    response = session_client.post(SUBMIT, BODY, content_type="application/json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 201


def test_token_authentication_needs_no_csrf(owner):
    token = Token.objects.create(user=owner)
    client = Client(enforce_csrf_checks=True)

    response = client.post(SUBMIT, BODY, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 201


def test_wrong_token_is_unauthorised(db):
    client = Client()

    response = client.get("/code/api/jobs/", HTTP_AUTHORIZATION="Token not-a-real-token")

    assert response.status_code == 401
    assert response.json() == {"error": "not_authenticated", "detail": "Invalid token."}


def test_anonymous_request_is_unauthorised(db):
    response = Client().post(SUBMIT, BODY, content_type="application/json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_sign_in_attempts_are_limited_per_address(db, settings):
    from django.contrib.auth import get_user_model

    from apps.core.quotas import get_limiter

    settings.LOGIN_RATE_LIMIT = "3/min"
    get_limiter().reset("login", "ip:127.0.0.1")
    get_user_model().objects.create_user("dora", password="right-password")
    client = Client()

    wrong = [client.post("/accounts/login/", {"username": "dora", "password": "guess"}).status_code for _ in range(3)]
    blocked = client.post("/accounts/login/", {"username": "dora", "password": "right-password"})

    assert wrong == [200, 200, 200]
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) == 20
    assert "Too many sign-in attempts" in blocked.content.decode()
    get_limiter().reset("login", "ip:127.0.0.1")


def test_healthz_accepts_only_get(db):
    response = Client().post("/healthz")

    assert response.status_code == 405


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "null", "5"])
def test_json_body_must_be_an_object(owner, body):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(owner)

    response = client.post(SUBMIT, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "must be a JSON object" in response.json()["detail"]


def test_oversized_json_body_is_413(owner, settings):
    from rest_framework.test import APIClient

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = APIClient()
    client.force_authenticate(owner)

    response = client.post(SUBMIT, '{"script": "' + "x" * 2000 + '"}', content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


@pytest.mark.parametrize("path", ["/code/api/jobs/abc/status/", "/api/tasks/not-a-uuid/", "/code/api/nope/"])
def test_unknown_api_path_answers_json_404(owner, path):
    client = Client()
    client.force_login(owner)

    response = client.get(path)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
