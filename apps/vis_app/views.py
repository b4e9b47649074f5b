"""The vis JSON API: figure specs (interactive) and their exports (async, or compute for 100+)."""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from apps.core.api import PlatformAPIView
from apps.core.dispatch import task_payload
from apps.core.models import TaskRecord, TaskState
from apps.core.openapi import COMMON_ERRORS
from apps.scholar_app.openapi import BATCH_ERRORS, BATCH_RETRY_AFTER
from apps.writer_app.openapi import RETRY_AFTER, TASK_ACCEPTED
from apps.writer_app.views import accepted, workspace_file

from . import openapi
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

    @extend_schema(
        summary="List your figures",
        description="Returns the user's 200 newest figures, newest first.",
        operation_id="vis_api_figures_list",
        responses={200: openapi.FigureListSerializer, **COMMON_ERRORS},
        parameters=[RETRY_AFTER],
    )
    def get(self, request):
        return Response({"figures": [figure_payload(f) for f in Figure.objects.filter(owner=request.user)[:200]]})

    @extend_schema(
        summary="Save a new figure",
        description=(
            "Validates and stores a figure spec in the request itself (no task, no quota). "
            "Form and multipart bodies send the spec as JSON text."
        ),
        request={
            "application/json": openapi.NewFigureSerializer,
            "application/x-www-form-urlencoded": openapi.NewFigureFormSerializer,
            "multipart/form-data": openapi.NewFigureFormSerializer,
        },
        responses={201: openapi.FigureSerializer, **openapi.FIGURE_SAVE_ERRORS},
        parameters=[RETRY_AFTER],
    )
    def post(self, request):
        figure = submit.save_figure(request.user, request.data)
        return Response(figure_payload(figure), status=status.HTTP_201_CREATED)


class FigureDetailView(PlatformAPIView):
    @extend_schema(
        summary="Get one figure",
        description="Returns one of the user's figures with its validated spec.",
        responses={200: openapi.FigureSerializer, 404: openapi.FIGURE_NOT_FOUND, **COMMON_ERRORS},
        parameters=[RETRY_AFTER],
    )
    def get(self, request, figure_id):
        return Response(figure_payload(get_object_or_404(Figure, pk=figure_id, owner=request.user)))


class FigureExportView(PlatformAPIView):
    """Export one figure: POST {format: png|svg|pdf}; returns 202 with the task."""

    @extend_schema(
        summary="Export a figure",
        request=openapi.FigureExportSerializer,
        responses={202: TASK_ACCEPTED, **openapi.FIGURE_EXPORT_ERRORS},
        parameters=[RETRY_AFTER],
    )
    def post(self, request, figure_id):
        figure = get_object_or_404(Figure, pk=figure_id, owner=request.user)
        return accepted(submit.request_export(request.user, figure, request.data))


class BatchExportView(PlatformAPIView):
    """Export many figures: POST {figure_ids: [...], format}; 100 or more become one compute job."""

    @extend_schema(
        summary="Export many figures",
        # A form body gives figure_ids as one string, which is invalid, so only JSON is described.
        request={"application/json": openapi.BatchExportSerializer},
        responses={202: openapi.BATCH_EXPORT_ACCEPTED, **BATCH_ERRORS},
        parameters=[BATCH_RETRY_AFTER],
    )
    def post(self, request):
        submission = submit.request_batch_export(request.user, request.data)
        return Response(batch_payload(submission), status=status.HTTP_202_ACCEPTED)


class ExportFileView(PlatformAPIView):
    """The file of one successful export of the user's."""

    @extend_schema(
        summary="Download an exported figure",
        responses=openapi.EXPORT_FILE_RESPONSES,
        parameters=[openapi.EXPORT_CSP_HEADER, RETRY_AFTER],
    )
    def get(self, request, task_id):
        record = get_object_or_404(
            TaskRecord, task_id=task_id, owner=request.user, kind="figure_export", state=TaskState.SUCCESS
        )
        fmt = record.result.get("format")
        handle = workspace_file(record, record.result.get("path"))
        response = FileResponse(handle, content_type=FORMATS.get(fmt, "application/octet-stream"))
        response["Content-Security-Policy"] = EXPORT_CSP
        return response
