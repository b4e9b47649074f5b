"""The writer's JSON API: suggestions, drafts and LaTeX compiles, each accepted with 202 and a task."""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from apps.code_app.services.workspace import resolve_inside, user_workspace
from apps.core.api import PlatformAPIView
from apps.core.dispatch import task_payload
from apps.core.models import TaskRecord, TaskState

from . import openapi
from .services import submit


def accepted(record):
    return Response(task_payload(record), status=status.HTTP_202_ACCEPTED)


def workspace_file(record, path):
    """Return the open file at ``path`` in the record owner's workspace, or raise Http404."""
    resolved = resolve_inside(user_workspace(record.owner_id), path or "")
    if resolved is None or not resolved.is_file():
        raise Http404("The file is no longer in your workspace.")
    return open(resolved, "rb")


class SuggestView(PlatformAPIView):
    @extend_schema(
        summary="Suggest improvements to a text",
        description=(
            "Enqueues suggestions for the text and spends one unit of the ai_suggest quota. "
            "The task's result contains provider, label, section and suggestions (a list of sentences)."
        ),
        request=openapi.SuggestionSerializer,
        responses={202: openapi.TASK_ACCEPTED, **openapi.TASK_ERRORS},
        parameters=[openapi.RETRY_AFTER],
    )
    def post(self, request):
        return accepted(submit.request_suggestion(request.user, request.data))


class GenerateView(PlatformAPIView):
    @extend_schema(
        summary="Draft a text from a prompt",
        description=(
            "Enqueues a draft written for the prompt and spends one unit of the ai_generate quota. "
            "The task's result contains provider, label and text."
        ),
        request=openapi.DraftSerializer,
        responses={202: openapi.TASK_ACCEPTED, **openapi.TASK_ERRORS},
        parameters=[openapi.RETRY_AFTER],
    )
    def post(self, request):
        return accepted(submit.request_generation(request.user, request.data))


class CompileView(PlatformAPIView):
    """Compile ``source`` (LaTeX text).

    The task's result contains ``pdf_path`` and ``log_path`` (relative to the
    user's workspace, under latex/<task_id>/), ``pdf_bytes``, ``log_tail``
    (the log's last 40 lines) and ``pdf_url``, which serves the PDF.
    """

    @extend_schema(
        summary="Compile a LaTeX document",
        request=openapi.LatexCompileSerializer,
        responses={202: openapi.TASK_ACCEPTED, **openapi.TASK_ERRORS},
        parameters=[openapi.RETRY_AFTER],
    )
    def post(self, request):
        return accepted(submit.request_compile(request.user, request.data))


class CompiledPdfView(PlatformAPIView):
    """The PDF of one successful compile of the user's."""

    @extend_schema(
        summary="Download a compiled PDF",
        responses=openapi.COMPILED_PDF_RESPONSES,
        parameters=[openapi.RETRY_AFTER],
    )
    def get(self, request, task_id):
        record = get_object_or_404(
            TaskRecord, task_id=task_id, owner=request.user, kind="latex_compile", state=TaskState.SUCCESS
        )
        handle = workspace_file(record, record.result.get("pdf_path"))
        return FileResponse(handle, content_type="application/pdf", filename=f"compile-{task_id}.pdf")
