"""The vis JSON API: figure specs (interactive) and their exports (async, or compute for 100+)."""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.response import Response

from apps.core.api import PlatformAPIView
from apps.core.dispatch import task_payload
from apps.core.models import TaskRecord, TaskState
from apps.writer_app.views import accepted, workspace_file

from .models import Figure
from .services import submit
from .services.render import FORMATS

# Exported SVGs are served to <img> tags; this keeps any script in one inert
# when the file is opened directly.
EXPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def figure_payload(figure):
    return {
        "id": figure.pk,
        "name": figure.name,
        "spec": figure.spec,
        "created_at": figure.created_at.isoformat(),
        "updated_at": figure.updated_at.isoformat(),
    }


def batch_payload(submission):
    """Return the JSON response for request_batch_export: the tasks or the compute job."""
    if submission["job"] is not None:
        job = submission["job"]
        return {
            "tier": submission["tier"],
            "job_id": job.pk,
            "figures": submission["figures"],
            "output_dir": submission["output_dir"],
            "detail": (
                f"{submission['figures']} figures became compute job {job.pk}; the files will be in "
                f"{submission['output_dir']} in your workspace."
            ),
        }
    return {"tier": submission["tier"], "tasks": [task_payload(record) for record in submission["records"]]}


class FigureListView(PlatformAPIView):
    """The user's figures (GET) and saving a new one (POST {name, spec})."""

    def get(self, request):
        return Response({"figures": [figure_payload(f) for f in Figure.objects.filter(owner=request.user)[:200]]})

    def post(self, request):
        figure = submit.save_figure(request.user, request.data)
        return Response(figure_payload(figure), status=status.HTTP_201_CREATED)


class FigureDetailView(PlatformAPIView):
    def get(self, request, figure_id):
        return Response(figure_payload(get_object_or_404(Figure, pk=figure_id, owner=request.user)))


class FigureExportView(PlatformAPIView):
    """Export one figure: POST {format: png|svg|pdf}; returns 202 with the task."""

    def post(self, request, figure_id):
        figure = get_object_or_404(Figure, pk=figure_id, owner=request.user)
        return accepted(submit.request_export(request.user, figure, request.data))


class BatchExportView(PlatformAPIView):
    """Export many figures: POST {figure_ids: [...], format}; 100 or more become one compute job."""

    def post(self, request):
        submission = submit.request_batch_export(request.user, request.data)
        return Response(batch_payload(submission), status=status.HTTP_202_ACCEPTED)


class ExportFileView(PlatformAPIView):
    """The file of one successful export of the user's."""

    def get(self, request, task_id):
        record = get_object_or_404(
            TaskRecord, task_id=task_id, owner=request.user, kind="figure_export", state=TaskState.SUCCESS
        )
        fmt = record.result.get("format")
        handle = workspace_file(record, record.result.get("path"))
        response = FileResponse(handle, content_type=FORMATS.get(fmt, "application/octet-stream"))
        response["Content-Security-Policy"] = EXPORT_CSP
        return response
