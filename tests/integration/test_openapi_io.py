"""The OpenAPI schema of the writer, scholar and vis APIs: every operation has
its request and response bodies, generation emits no warnings, and the views'
real responses match the documented schemas."""

import copy
import subprocess
import sys
from types import SimpleNamespace

import jsonschema
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from rest_framework.test import APIClient

from apps.code_app.services.workspace import user_workspace
from apps.core import admission
from apps.core.api import PlatformAPIView
from apps.core.models import QuotaOverride, TaskRecord, TaskState
from apps.core.quotas import get_limiter
from apps.scholar_app.services.submit import MAX_RESULTS
from apps.scholar_app.views import pdf_submission_payload
from apps.vis_app.services.specs import MAX_SERIES
from apps.vis_app.views import batch_payload
from tests.fakes.pdfs import make_pdf

pytestmark = pytest.mark.django_db

IO_PREFIXES = ("/writer/api/", "/scholar/api/", "/vis/api/")
ERROR_COMPONENTS = {
    "Error",
    "InvalidRequestError",
    "InvalidBatchRequestError",
    "TaskLimitError",
    "BatchLimitError",
    "ThrottledError",
}
SPEC = {
    "kind": "line",
    "title": "CPU hours",
    "x_label": "week",
    "y_label": "hours",
    "series": [{"label": "alice", "x": [1, 2, 3], "y": [10, 12.5, 9]}],
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def io_endpoints():
    """Return (path, method, view class) of every API operation of the writer, scholar and vis apps."""
    return [
        (path, method.lower(), callback.cls)
        for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints()
        if path.startswith(IO_PREFIXES)
    ]


def io_operations(schema):
    return [(path, method, schema["paths"][path][method]) for path, method, _view in io_endpoints()]


def component_name(media):
    return media["schema"]["$ref"].rsplit("/", 1)[-1]


def test_generation_emits_no_warnings_or_errors(tmp_path):
    # A separate process, because drf-spectacular keeps the messages it
    # has already printed for the life of the process and prints each once.
    command = [
        sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"),
    ]
    result = subprocess.run(command, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    assert "Error" not in result.stderr, result.stderr


def test_every_io_endpoint_is_in_schema(schema):
    endpoints = io_endpoints()

    assert len(endpoints) >= 12
    for path, method, _view in endpoints:
        assert method in schema["paths"].get(path, {}), f"{method.upper()} {path} is missing from the schema"


def test_posts_describe_request_body(schema):
    for path, method, operation in io_operations(schema):
        if method != "post":
            continue
        content = operation.get("requestBody", {}).get("content", {})
        assert content, f"POST {path} has no request body"
        for media_type, media in content.items():
            properties = schema["components"]["schemas"][component_name(media)].get("properties")
            assert properties, f"POST {path} ({media_type}) has a request body without fields"


def test_request_media_types_are_parsed_by_view(schema):
    for path, method, view in io_endpoints():
        if method != "post":
            continue
        parsed = {parser.media_type for parser in view.parser_classes}
        documented = set(schema["paths"][path][method].get("requestBody", {}).get("content", {}))
        assert documented <= parsed, f"POST {path} documents {documented - parsed}, which {view.__name__} does not parse"


def test_operations_describe_success_body(schema):
    for path, method, operation in io_operations(schema):
        successes = {code: response for code, response in operation["responses"].items() if code.startswith("2")}
        assert successes, f"{method.upper()} {path} has no 2xx response"
        for code, response in successes.items():
            content = response.get("content", {})
            assert content, f"{method.upper()} {path} {code} has no body"
            assert all(media.get("schema") for media in content.values()), f"{method.upper()} {path} {code}"


def test_operations_describe_errors(schema):
    for path, method, operation in io_operations(schema):
        responses = operation["responses"]
        name = f"{method.upper()} {path}"
        assert {"401", "429"} <= set(responses), name
        assert "Retry-After" in responses["429"].get("headers", {}), name
        if method == "post":
            assert "400" in responses, name
        if "{" in path:
            assert "404" in responses, name
        if "202" in responses:
            assert "503" in responses, name
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                assert component_name(response["content"]["application/json"]) in ERROR_COMPONENTS, f"{name} {code}"


def test_operations_have_own_description(schema):
    base_description = PlatformAPIView.__doc__.split("\n")[0]

    for path, method, operation in io_operations(schema):
        assert operation.get("summary"), f"{method.upper()} {path} has no summary"
        assert base_description not in operation.get("description", ""), f"{method.upper()} {path}"


def test_limits_follow_validation_code(schema):
    components = schema["components"]["schemas"]

    assert components["LatexCompileRequest"]["properties"]["source"]["maxLength"] == settings.LATEX_MAX_SOURCE_CHARS
    assert components["PaperSearchRequest"]["properties"]["limit"]["maximum"] == MAX_RESULTS
    assert components["NewFigureSpecRequest"]["properties"]["series"]["maxItems"] == MAX_SERIES
    assert components["NewFigureSpecRequest"]["required"] == ["kind", "series"]
    assert set(components["FormatEnum"]["enum"]) == {"png", "svg", "pdf"}


# --- Real responses against the documented schemas ---------------------------


def as_json_schema(node):
    """Return an OpenAPI 3.0 schema as JSON Schema.

    ``nullable`` becomes a null type, and a oneOf with a discriminator
    becomes one if/then per mapped value, because JSON Schema has no
    discriminator.
    """
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: as_json_schema(value) for key, value in node.items()}
    if "discriminator" in node:
        field = node["discriminator"]["propertyName"]
        mapping = node["discriminator"]["mapping"]
        return {
            "type": "object",
            "required": [field],
            "properties": {field: {"enum": list(mapping)}},
            "allOf": [
                {"if": {"properties": {field: {"const": value}}}, "then": {"$ref": ref}} for value, ref in mapping.items()
            ],
        }
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        elif "$ref" in node or "allOf" in node:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def assert_documented(schema, response, path, method):
    """Fail unless ``response`` has a documented status and media type and its JSON body fits the schema."""
    documented = schema["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method.upper()} {path} returned undocumented {status}: {response.content[:300]!r}"
    media_type = response["Content-Type"].split(";")[0]
    content = documented[status]["content"]
    assert media_type in content, f"{method.upper()} {path} {status} returned undocumented {media_type}"
    for header in documented[status].get("headers", {}):
        if documented[status]["headers"][header].get("required"):
            assert response.has_header(header), f"{method.upper()} {path} {status} lacks the {header} header"
    if media_type == "application/json":
        validate(schema, response.json(), content[media_type]["schema"])
    else:
        assert b"".join(response.streaming_content), f"{method.upper()} {path} {status} returned an empty file"


def validate(schema, body, body_schema):
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [as_json_schema(body_schema)],
        "components": {"schemas": as_json_schema(copy.deepcopy(schema["components"]["schemas"]))},
    }
    jsonschema.Draft202012Validator(document).validate(body)


@pytest.fixture(autouse=True)
def fresh_limits(owner):
    subjects = [f"user:{owner.pk}", "ip:127.0.0.1"]
    for kind in [*settings.RATE_LIMITS, "anon"]:
        for subject in subjects:
            get_limiter().reset(kind, subject)


def pdf(name="a.pdf"):
    return SimpleUploadedFile(name, make_pdf(), content_type="application/pdf")


def test_writer_responses_match_schema(schema, owner_client):
    cases = [
        ("/writer/api/suggest/", {"text": "A draft.", "section": "Introduction"}, "json", 202),
        ("/writer/api/suggest/", {"text": "A draft."}, "multipart", 202),
        ("/writer/api/suggest/", {"text": "  "}, "json", 400),
        ("/writer/api/generate/", {"prompt": "An abstract."}, "json", 202),
        ("/writer/api/generate/", {"prompt": "x" * 4001}, "json", 400),
        ("/writer/api/compile/", {"source": "\\relax"}, "json", 202),
        ("/writer/api/compile/", {"source": "\\relax\x00"}, "json", 400),
    ]

    for path, body, encoding, expected in cases:
        response = owner_client.post(path, body, format=encoding)
        assert response.status_code == expected, (path, body, response.content)
        assert_documented(schema, response, path, "post")


def test_scholar_responses_match_schema(schema, owner_client):
    cases = [
        ("/scholar/api/search/", {"query": "fair share"}, "json", 202),
        ("/scholar/api/search/", {"query": "fair share", "limit": "5"}, "multipart", 202),
        ("/scholar/api/search/", {"query": "fair share", "limit": 51}, "json", 400),
        ("/scholar/api/metadata/", {"doi": "https://doi.org/10.1145/35043.35047"}, "json", 202),
        ("/scholar/api/metadata/", {"doi": "not a doi"}, "json", 400),
        ("/scholar/api/pdf/", {"file": [pdf()]}, "multipart", 202),
        ("/scholar/api/pdf/", {"file": [pdf("a.pdf"), pdf("b.pdf")]}, "multipart", 202),
        ("/scholar/api/pdf/", {"file": [SimpleUploadedFile("a.pdf", b"plain text")]}, "multipart", 400),
        ("/scholar/api/pdf/", {"file": "a.pdf"}, "json", 415),
    ]

    for path, body, encoding, expected in cases:
        response = owner_client.post(path, body, format=encoding)
        assert response.status_code == expected, (path, body, response.content)
        assert_documented(schema, response, path, "post")


def test_vis_responses_match_schema(schema, owner_client):
    saved = owner_client.post("/vis/api/figures/", {"name": "cpu", "spec": SPEC}, format="json")
    figure_id = saved.json()["id"]
    form_spec = '{"kind": "bar", "series": [{"x": [1], "y": [2]}]}'
    export = f"/vis/api/figures/{figure_id}/export/"
    posts = [
        ("/vis/api/figures/", "/vis/api/figures/", {"name": "form", "spec": form_spec}, "multipart", 201),
        ("/vis/api/figures/", "/vis/api/figures/", {"name": "bad", "spec": {**SPEC, "kind": "pie"}}, "json", 400),
        ("/vis/api/figures/{figure_id}/export/", export, {"format": "svg"}, "json", 202),
        ("/vis/api/figures/{figure_id}/export/", export, {}, "multipart", 202),
        ("/vis/api/figures/{figure_id}/export/", export, {"format": "gif"}, "json", 400),
        ("/vis/api/export/", "/vis/api/export/", {"figure_ids": [figure_id, figure_id]}, "json", 202),
        ("/vis/api/export/", "/vis/api/export/", {"figure_ids": []}, "json", 400),
    ]
    gets = [
        ("/vis/api/figures/", "/vis/api/figures/", 200),
        ("/vis/api/figures/{figure_id}/", f"/vis/api/figures/{figure_id}/", 200),
        ("/vis/api/figures/{figure_id}/", f"/vis/api/figures/{figure_id + 1000}/", 404),
    ]

    assert saved.status_code == 201, saved.content
    assert_documented(schema, saved, "/vis/api/figures/", "post")
    for path, url, body, encoding, expected in posts:
        response = owner_client.post(url, body, format=encoding)
        assert response.status_code == expected, (url, body, response.content)
        assert_documented(schema, response, path, "post")
    for path, url, expected in gets:
        response = owner_client.get(url)
        assert response.status_code == expected, (url, response.content)
        assert_documented(schema, response, path, "get")


def test_file_downloads_match_schema(schema, owner, owner_client):
    workspace = user_workspace(owner.pk)
    (workspace / "out.pdf").write_bytes(make_pdf())
    (workspace / "out.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    compile_record = TaskRecord.objects.create(
        owner=owner, kind="latex_compile", task_name="compile", state=TaskState.SUCCESS, result={"pdf_path": "out.pdf"}
    )
    export_record = TaskRecord.objects.create(
        owner=owner, kind="figure_export", task_name="export", state=TaskState.SUCCESS,
        result={"format": "svg", "path": "out.svg"},
    )
    pending = TaskRecord.objects.create(owner=owner, kind="latex_compile", task_name="compile")
    cases = [
        ("/writer/api/compile/{task_id}/pdf/", f"/writer/api/compile/{compile_record.task_id}/pdf/", 200),
        ("/writer/api/compile/{task_id}/pdf/", f"/writer/api/compile/{pending.task_id}/pdf/", 404),
        ("/vis/api/exports/{task_id}/", f"/vis/api/exports/{export_record.task_id}/", 200),
        ("/vis/api/exports/{task_id}/", f"/vis/api/exports/{pending.task_id}/", 404),
    ]

    for path, url, expected in cases:
        response = owner_client.get(url)
        assert response.status_code == expected, url
        assert_documented(schema, response, path, "get")


def test_unauthenticated_responses_match_schema(schema):
    client = APIClient()

    for path, method, _view in io_endpoints():
        url = path.replace("{figure_id}", "1").replace("{task_id}", "00000000-0000-0000-0000-000000000000")
        response = getattr(client, method)(url)
        assert response.status_code == 401, (method, url, response.status_code)
        assert_documented(schema, response, path, method)


def test_spent_quota_response_matches_schema(schema, owner, owner_client):
    QuotaOverride.objects.create(user=owner, kind="ai_suggest", limit="1/min")

    first = owner_client.post("/writer/api/suggest/", {"text": "A draft."}, format="json")
    rejected = owner_client.post("/writer/api/suggest/", {"text": "A draft."}, format="json")

    assert first.status_code == 202
    assert rejected.status_code == 429
    assert rejected.json()["error"] == "rate_limited"
    assert_documented(schema, rejected, "/writer/api/suggest/", "post")


@pytest.fixture
def paused_metadata():
    admission.pause("metadata")
    yield
    admission.resume("metadata")


def test_paused_admission_response_matches_schema(schema, owner_client, paused_metadata):
    response = owner_client.post("/scholar/api/metadata/", {"doi": "10.1145/35043.35047"}, format="json")

    assert response.status_code == 503
    assert response.json()["error"] == "admission_paused"
    assert_documented(schema, response, "/scholar/api/metadata/", "post")


def test_compute_batch_payloads_match_schema(schema):
    # The compute tier needs COMPUTE_BATCH_THRESHOLD items or more and a
    # scheduler that runs the job, so the payloads come from a stand-in job.
    job = SimpleNamespace(pk=7)
    pdf_body = pdf_submission_payload(
        {"tier": "compute", "job": job, "records": [], "files": 100, "results_path": "pdf-batches/ab/results.json"}
    )
    figure_body = batch_payload({"tier": "compute", "job": job, "records": [], "figures": 100, "output_dir": "figure-batches/ab/"})

    pdf_schema = schema["paths"]["/scholar/api/pdf/"]["post"]["responses"]["202"]["content"]["application/json"]["schema"]
    figure_schema = schema["paths"]["/vis/api/export/"]["post"]["responses"]["202"]["content"]["application/json"]["schema"]
    validate(schema, pdf_body, pdf_schema)
    validate(schema, figure_body, figure_schema)
