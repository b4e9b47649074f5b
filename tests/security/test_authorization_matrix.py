"""Every HTTP endpoint and WebSocket path against anonymous, another user, the owner and staff.

The owner has a job, a finished compile, a figure and a finished export.
Another user and a staff member who does not own them get 404 for them, so
ids do not leak; only staff open the console. A new URL must be added to
the table below, or the completeness test fails.
"""

import uuid

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import get_resolver

from apps.code_app.models import Job
from apps.code_app.services.workspace import user_workspace
from apps.core.models import TaskRecord, TaskState
from apps.core.quotas import get_limiter
from apps.vis_app.models import Figure

ROLES = ("anonymous", "other", "staff", "owner")
A, O, S, W = ROLES  # column order of each row below
PAGE_LOGIN = 302

# (url name, method, path template, {role: expected status}).
# Placeholders: {job}, {compile_task}, {export_task}, {figure}, {missing}.
# POST bodies are empty: an authorised caller gets 400 for the missing
# fields (or 202 where every field has a default), which shows the request
# passed authentication and authorisation.
MATRIX = [
    (None, "get", "/", {A: 302, O: 302, S: 302, W: 302}),
    ("login", "get", "/accounts/login/", {A: 200, O: 200, S: 200, W: 200}),
    ("quota", "get", "/api/quota/", {A: 401, O: 200, S: 200, W: 200}),
    ("task-status", "get", "/api/tasks/{compile_task}/", {A: 401, O: 404, S: 404, W: 200}),
    ("task-status", "get", "/api/tasks/{missing}/", {A: 401, O: 404, S: 404, W: 404}),
    ("job-list", "get", "/code/api/jobs/", {A: 401, O: 200, S: 200, W: 200}),
    ("job-submit", "post", "/code/api/jobs/submit/", {A: 401, O: 400, S: 400, W: 400}),
    ("job-queue", "get", "/code/api/jobs/queue/", {A: 401, O: 200, S: 200, W: 200}),
    ("job-status", "get", "/code/api/jobs/{job}/status/", {A: 401, O: 404, S: 404, W: 200}),
    ("job-output", "get", "/code/api/jobs/{job}/output/", {A: 401, O: 404, S: 404, W: 200}),
    ("job-cancel", "post", "/code/api/jobs/{job}/cancel/", {A: 401, O: 404, S: 404, W: 202}),
    ("writer", "get", "/writer/", {A: PAGE_LOGIN, O: 200, S: 200, W: 200}),
    ("writer-suggest-form", "post", "/writer/suggest/", {A: PAGE_LOGIN, O: 400, S: 400, W: 400}),
    ("writer-generate-form", "post", "/writer/generate/", {A: PAGE_LOGIN, O: 400, S: 400, W: 400}),
    ("writer-compile-form", "post", "/writer/compile/", {A: PAGE_LOGIN, O: 400, S: 400, W: 400}),
    ("writer-suggest", "post", "/writer/api/suggest/", {A: 401, O: 400, S: 400, W: 400}),
    ("writer-generate", "post", "/writer/api/generate/", {A: 401, O: 400, S: 400, W: 400}),
    ("writer-compile", "post", "/writer/api/compile/", {A: 401, O: 400, S: 400, W: 400}),
    ("writer-compile-pdf", "get", "/writer/api/compile/{compile_task}/pdf/", {A: 401, O: 404, S: 404, W: 200}),
    ("scholar", "get", "/scholar/", {A: PAGE_LOGIN, O: 200, S: 200, W: 200}),
    ("scholar-search-form", "post", "/scholar/search/", {A: PAGE_LOGIN, O: 400, S: 400, W: 400}),
    ("scholar-pdf-form", "post", "/scholar/pdf/", {A: PAGE_LOGIN, O: 400, S: 400, W: 400}),
    ("scholar-metadata-form", "post", "/scholar/metadata/", {A: PAGE_LOGIN, O: 400, S: 400, W: 400}),
    ("scholar-search", "post", "/scholar/api/search/", {A: 401, O: 400, S: 400, W: 400}),
    ("scholar-pdf", "post", "/scholar/api/pdf/", {A: 401, O: 400, S: 400, W: 400}),
    ("scholar-metadata", "post", "/scholar/api/metadata/", {A: 401, O: 400, S: 400, W: 400}),
    ("vis", "get", "/vis/", {A: PAGE_LOGIN, O: 200, S: 200, W: 200}),
    ("vis-figure-form", "post", "/vis/figures/", {A: PAGE_LOGIN, O: 400, S: 400, W: 400}),
    ("vis-export-form", "post", "/vis/figures/{figure}/export/", {A: PAGE_LOGIN, O: 404, S: 404, W: 202}),
    ("vis-figures", "get", "/vis/api/figures/", {A: 401, O: 200, S: 200, W: 200}),
    ("vis-figures", "post", "/vis/api/figures/", {A: 401, O: 400, S: 400, W: 400}),
    ("vis-figure", "get", "/vis/api/figures/{figure}/", {A: 401, O: 404, S: 404, W: 200}),
    ("vis-figure-export", "post", "/vis/api/figures/{figure}/export/", {A: 401, O: 404, S: 404, W: 202}),
    ("vis-batch-export", "post", "/vis/api/export/", {A: 401, O: 400, S: 400, W: 400}),
    ("vis-export-file", "get", "/vis/api/exports/{export_task}/", {A: 401, O: 404, S: 404, W: 200}),
    ("dashboard", "get", "/dashboard/", {A: PAGE_LOGIN, O: 200, S: 200, W: 200}),
    ("dashboard-submit", "post", "/dashboard/jobs/submit/", {A: PAGE_LOGIN, O: 400, S: 400, W: 400}),
    ("dashboard-job-output", "get", "/dashboard/jobs/{job}/output/", {A: PAGE_LOGIN, O: 404, S: 404, W: 200}),
    ("dashboard-job-cancel", "post", "/dashboard/jobs/{job}/cancel/", {A: PAGE_LOGIN, O: 404, S: 404, W: 202}),
    ("console", "get", "/console/", {A: PAGE_LOGIN, O: 403, S: 200, W: 403}),
    ("console-cancel-jobs", "post", "/console/actions/cancel-jobs/", {A: PAGE_LOGIN, O: 403, S: 400, W: 403}),
    ("console-set-override", "post", "/console/actions/override/", {A: PAGE_LOGIN, O: 403, S: 400, W: 403}),
    ("console-clear-override", "post", "/console/actions/override/clear/", {A: PAGE_LOGIN, O: 403, S: 400, W: 403}),
    ("console-pause", "post", "/console/actions/pause/", {A: PAGE_LOGIN, O: 403, S: 400, W: 403}),
    ("console-resume", "post", "/console/actions/resume/", {A: PAGE_LOGIN, O: 403, S: 400, W: 403}),
    ("healthz", "get", "/healthz", {A: (200, 503), O: (200, 503), S: (200, 503), W: (200, 503)}),
    ("api-schema", "get", "/api/schema/", {A: 200, O: 200, S: 200, W: 200}),
    ("api-docs", "get", "/api/docs/", {A: 200, O: 200, S: 200, W: 200}),
    ("api-redoc", "get", "/api/redoc/", {A: 200, O: 200, S: 200, W: 200}),
    # Last, because it ends the session the rows above use.
    ("logout", "post", "/accounts/logout/", {A: 302, O: 302, S: 302, W: 302}),
]

SOCKETS = [
    ("/ws/dashboard/", {A: False, O: True, S: True, W: True}),
    ("/ws/notifications/", {A: False, O: True, S: True, W: True}),
    ("/ws/console/", {A: False, O: False, S: True, W: False}),
]


def url_names():
    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                if "admin" not in str(pattern.pattern):
                    yield from walk(pattern.url_patterns)
            else:
                yield pattern.name

    return set(walk(get_resolver().url_patterns))


def test_every_url_is_in_the_matrix():
    assert url_names() == {name for name, *_ in MATRIX}


@pytest.fixture
def world(db, settings):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    people = {
        O: users.create_user("bob", password="pw-bob"),
        S: users.create_user("carol", password="pw-carol", is_staff=True),
        W: users.create_user("alice", password="pw-alice"),
    }
    owner = people[W]
    # Every request here counts against the API quota; give each person room.
    for person in people.values():
        get_limiter().reset("api", f"user:{person.pk}")
    get_limiter().reset("anon", "ip:127.0.0.1")
    job = Job.objects.create(
        owner=owner, backend="local", name="mine", partition="normal", cpus=1, memory_gb=1,
        time_limit_minutes=5, script_path="a.py", scheduler_job_id="1",
    )
    workspace = user_workspace(owner.pk)
    (workspace / "out.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (workspace / "fig.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    compile_task = TaskRecord.objects.create(
        owner=owner, kind="latex_compile", task_name="apps.writer_app.tasks.compile_latex",
        state=TaskState.SUCCESS, result={"pdf_path": "out.pdf"},
    )
    figure = Figure.objects.create(owner=owner, name="fig", spec={"kind": "line", "series": []})
    export_task = TaskRecord.objects.create(
        owner=owner, kind="figure_export", task_name="apps.vis_app.tasks.export_figure",
        state=TaskState.SUCCESS, result={"format": "png", "path": "fig.png"},
    )
    values = {
        "job": job.pk, "compile_task": compile_task.task_id, "export_task": export_task.task_id,
        "figure": figure.pk, "missing": uuid.uuid4(),
    }
    return people, values


def client_as(people, role):
    client = Client()
    if role != A:
        client.force_login(people[role])
    return client


@pytest.mark.parametrize("role", ROLES)
def test_http_matrix(world, role):
    people, values = world
    client = client_as(people, role)
    failures = []
    for name, method, template, expected in MATRIX:
        path = template.format(**values)
        response = getattr(client, method)(path)
        allowed = expected[role] if isinstance(expected[role], tuple) else (expected[role],)
        if response.status_code not in allowed:
            failures.append(f"{method.upper()} {path} as {role}: {response.status_code}, expected {expected[role]}")
        if role == A and expected[role] == PAGE_LOGIN and name not in (None, "logout"):
            assert response["Location"].startswith("/accounts/login/"), path
    assert failures == []


@pytest.mark.parametrize("role", (O, S, W))
def test_state_changing_requests_need_csrf_token(world, role):
    people, values = world
    client = Client(enforce_csrf_checks=True)
    client.force_login(people[role])
    for name, method, template, expected in MATRIX:
        if method != "post" or name in ("logout",):
            continue
        path = template.format(**values)
        response = client.post(path)
        assert response.status_code == 403, f"POST {path} as {role} without a CSRF token: {response.status_code}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("role", ROLES)
async def test_socket_matrix(role):
    from channels.testing import WebsocketCommunicator

    from project.asgi import application

    def make_person():
        from django.contrib.auth import get_user_model

        if role == A:
            return None
        return get_user_model().objects.create_user(f"ws-{role}", is_staff=(role == S))

    person = await database_sync_to_async(make_person)()

    def cookie():
        client = Client()
        client.force_login(person)
        return client.cookies["sessionid"].value

    session = await database_sync_to_async(cookie)() if person else None
    for path, expected in SOCKETS:
        for origin, origin_ok in ((b"http://127.0.0.1:8000", True), (b"http://evil.example", False)):
            headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
            if session:
                headers.append((b"cookie", f"sessionid={session}".encode()))
            communicator = WebsocketCommunicator(application, path, headers=headers)
            connected, _ = await communicator.connect(timeout=5)
            assert connected == (expected[role] and origin_ok), f"{path} as {role} from {origin.decode()}"
            await communicator.disconnect()
