"""The OpenAPI schema: valid, complete for every API URL, served with offline docs."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

API_PREFIXES = ("/api/", "/code/api/", "/writer/api/", "/scholar/api/", "/vis/api/")
SCHEMA_VIEWS = {"/api/schema/", "/api/docs/", "/api/redoc/"}


def url_paths(patterns, prefix="/"):
    """Yield every URL of ``patterns`` in OpenAPI form, with converters written as {name}."""
    for pattern in patterns:
        route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from url_paths(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            yield prefix + route


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi(schema):
    validate_schema(schema)

    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Research platform API"


def test_schema_lists_every_api_url(schema):
    api_urls = {
        path for path in url_paths(get_resolver().url_patterns)
        if path.startswith(API_PREFIXES) and path not in SCHEMA_VIEWS
    }

    assert "/code/api/jobs/{job_id}/status/" in api_urls
    assert api_urls - set(schema["paths"]) == set()


def test_submit_describes_requests_and_errors(schema):
    submit = schema["paths"]["/code/api/jobs/submit/"]["post"]

    assert set(submit["requestBody"]["content"]) >= {"application/json", "multipart/form-data"}
    assert set(submit["responses"]) == {"201", "400", "401", "429", "503"}
    too_many = submit["responses"]["429"]["content"]["application/json"]["schema"]
    assert too_many == {"$ref": "#/components/schemas/JobLimitOrThrottledError"}
    error = schema["components"]["schemas"]["InvalidFieldError"]
    assert set(error["required"]) == {"error", "detail", "field", "fields"}


def test_job_and_quota_responses_are_described(schema):
    paths = schema["paths"]

    job = paths["/code/api/jobs/{job_id}/status/"]["get"]["responses"]
    assert job["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Job"}
    assert "404" in job
    cancel = paths["/code/api/jobs/{job_id}/cancel/"]["post"]["responses"]
    assert {"202", "404", "409"} <= set(cancel)
    quota = paths["/api/quota/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert quota == {"$ref": "#/components/schemas/QuotaStatus"}
    assert "JobStateEnum" in schema["components"]["schemas"]


def test_schema_names_both_authentications(schema):
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_docs_page_uses_local_assets(client):
    response = client.get("/api/docs/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


def test_redoc_page_uses_local_assets(client):
    page = client.get("/api/redoc/").content.decode()

    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in page
