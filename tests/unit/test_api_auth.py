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
