"""Figures end to end: specs saved in the request, exports rendered by a real Celery worker."""

import json

import pytest

from apps.code_app.services.workspace import user_workspace
from apps.core.dispatch import enqueue
from apps.vis_app.tasks import export_figure
from apps.vis_app.models import Figure
from tests.conftest import client_for, wait_for_state
from tests.integration.celery_worker import wait_for_task

pytestmark = [pytest.mark.django_db(transaction=True)]

SPEC = {
    "kind": "bar",
    "title": "CPU hours per user",
    "x_label": "week",
    "y_label": "hours",
    "series": [
        {"label": "alice", "x": [1, 2, 3], "y": [10, 12.5, 9]},
        {"label": "bob", "x": [1, 2, 3], "y": [4, 6, 8]},
    ],
}


def save(client, spec=SPEC, name="cpu hours"):
    return client.post("/vis/api/figures/", {"name": name, "spec": spec}, format="json")


def export(client, figure_id, fmt):
    response = client.post(f"/vis/api/figures/{figure_id}/export/", {"format": fmt}, format="json")
    assert response.status_code == 202, response.content
    return wait_for_task(response.json()["task_id"])


def test_save_figure_validates_spec(live_worker, owner, owner_client):
    saved = save(owner_client)
    bad_kind = save(owner_client, {**SPEC, "kind": "pie"})
    uneven = save(owner_client, {**SPEC, "series": [{"label": "a", "x": [1, 2], "y": [1]}]})
    not_number = save(owner_client, {**SPEC, "series": [{"label": "a", "x": [1], "y": ["7"]}]})

    assert saved.status_code == 201
    assert saved.json()["spec"] == SPEC
    assert Figure.objects.get(pk=saved.json()["id"]).owner == owner
    assert bad_kind.status_code == 400
    assert bad_kind.json()["detail"] == "spec.kind must be one of line, bar, scatter; got 'pie'."
    assert uneven.json()["detail"] == "spec.series.0 has 2 x values but 1 y values; give one y per x."
    assert not_number.json()["detail"] == "spec.series.0.y[0] must be a finite number; got '7'."


@pytest.mark.parametrize(
    ("fmt", "magic", "content_type"),
    [("png", b"\x89PNG\r\n\x1a\n", "image/png"), ("svg", b"<?xml", "image/svg+xml"), ("pdf", b"%PDF-", "application/pdf")],
)
def test_export_renders_into_workspace(live_worker, owner, owner_client, other_user, fmt, magic, content_type):
    figure_id = save(owner_client).json()["id"]

    record = export(owner_client, figure_id, fmt)

    assert record.state == "SUCCESS", record.error
    assert record.result["path"] == f"figures/figure-{figure_id}/{record.task_id}.{fmt}"
    stored = user_workspace(owner.pk) / record.result["path"]
    assert stored.read_bytes().startswith(magic)
    assert record.result["bytes"] == stored.stat().st_size
    served = owner_client.get(record.result["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == content_type
    assert client_for(other_user).get(record.result["url"]).status_code == 404


def test_export_of_other_users_figure_is_404(live_worker, owner_client, other_client):
    figure_id = save(owner_client).json()["id"]

    response = other_client.post(f"/vis/api/figures/{figure_id}/export/", {"format": "png"}, format="json")

    assert response.status_code == 404


def test_export_of_deleted_figure_fails(live_worker, owner):
    figure_id = 10**9

    record = enqueue(owner, "figure_export", export_figure, input={"figure_id": figure_id, "format": "svg"})

    record = wait_for_task(record.task_id)
    assert record.state == "FAILURE"
    assert record.error == f"Figure {figure_id} no longer exists, so it cannot be exported."


def test_small_batch_export_is_one_task_each(live_worker, owner_client):
    ids = [save(owner_client, name=f"figure {index}").json()["id"] for index in range(3)]

    response = owner_client.post("/vis/api/export/", {"figure_ids": ids, "format": "svg"}, format="json")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["tier"] == "async"
    records = [wait_for_task(task["task_id"]) for task in body["tasks"]]
    assert [record.state for record in records] == ["SUCCESS"] * 3
    assert sorted(record.result["figure_id"] for record in records) == sorted(ids)


@pytest.mark.usefixtures("cancel_leftover_jobs")
def test_batch_export_becomes_one_compute_job(live_worker, owner, owner_client, settings):
    count = settings.COMPUTE_BATCH_THRESHOLD
    figures = Figure.objects.bulk_create(
        [Figure(owner=owner, name=f"figure {index}", spec={**SPEC, "kind": "line"}) for index in range(count)]
    )

    response = owner_client.post(
        "/vis/api/export/", {"figure_ids": [figure.pk for figure in figures], "format": "png"}, format="json"
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["tier"] == "compute"
    assert body["detail"].startswith(f"100 figures became compute job {body['job_id']}; ")
    job = wait_for_state(body["job_id"], "COMPLETED", "FAILED", timeout=120)
    assert job.state == "COMPLETED"
    folder = user_workspace(owner.pk) / body["output_dir"]
    results = json.loads((folder / "results.json").read_text())
    assert results["figures"] == 100
    assert results["failed"] == 0
    assert (folder / f"figure-{figures[0].pk}.png").read_bytes().startswith(b"\x89PNG")
