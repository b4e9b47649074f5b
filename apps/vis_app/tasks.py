"""Vis tasks: thin wrappers that read their TaskRecord and call a service."""

from celery import shared_task
from django.urls import reverse

from apps.code_app.services.workspace import user_workspace
from apps.core.celery_base import RecordedTask
from apps.core.models import TaskRecord
from apps.writer_app.services.upstream import upstream_retries

from .models import Figure
from .services.render import render


class FigureGone(Exception):
    """The figure was deleted after its export was requested."""


@shared_task(
    base=RecordedTask, bind=True, name="apps.vis_app.tasks.export_figure", soft_time_limit=120, max_retries=None
)
def export_figure(self, record_id):
    record = TaskRecord.objects.get(pk=record_id)
    figure_id, fmt = record.input["figure_id"], record.input["format"]
    figure = Figure.objects.filter(pk=figure_id, owner_id=record.owner_id).first()
    if figure is None:
        raise FigureGone(f"Figure {figure_id} no longer exists, so it cannot be exported.")

    relative = f"figures/figure-{figure.pk}/{record.task_id}.{fmt}"
    target = user_workspace(record.owner_id) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with upstream_retries(self, record):
        size = render(figure.spec, target, fmt)
    return {
        "figure_id": figure.pk,
        "name": figure.name,
        "format": fmt,
        "path": relative,
        "bytes": size,
        "url": reverse("vis-export-file", args=[record.task_id]),
    }
