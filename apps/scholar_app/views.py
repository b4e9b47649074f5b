"""The scholar's JSON API: paper search, PDF processing and metadata by DOI."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from apps.core.api import PlatformAPIView
from apps.core.dispatch import task_payload
from apps.core.parsers import MultiPartParser
from apps.writer_app import openapi as writer_openapi
from apps.writer_app.views import accepted

from . import openapi
from .services import submit


def pdf_submission_payload(submission):
    """Return the JSON response for request_pdfs: the task, the tasks, or the compute job."""
    if submission["job"] is not None:
        job = submission["job"]
        return {
            "tier": submission["tier"],
            "job_id": job.pk,
            "files": submission["files"],
            "results_path": submission["results_path"],
            "detail": (
                f"{submission['files']} PDFs became compute job {job.pk}; its results will be in "
                f"{submission['results_path']} in your workspace."
            ),
        }
    records = submission["records"]
    if len(records) == 1:
        return task_payload(records[0])
    return {"tier": submission["tier"], "tasks": [task_payload(record) for record in records]}


class SearchView(PlatformAPIView):
    """Search papers: ``query``, optional ``source`` (offline, arxiv, pubmed) and ``limit`` (1-50)."""

    @extend_schema(
        summary="Search papers",
        request=openapi.PaperSearchSerializer,
        responses={202: writer_openapi.TASK_ACCEPTED, **writer_openapi.TASK_ERRORS},
        parameters=[writer_openapi.RETRY_AFTER],
    )
    def post(self, request):
        return accepted(submit.request_search(request.user, request.data))


class PdfView(PlatformAPIView):
    """Process uploaded PDFs (multipart field ``file``, repeated for several).

    One file returns its task, 2 to 99 return {"tasks": [...]}, and
    COMPUTE_BATCH_THRESHOLD (100) or more with the compute job they became.
    """

    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Process uploaded PDFs",
        request=openapi.PdfUploadSerializer,
        responses={202: openapi.PDF_ACCEPTED, **openapi.PDF_ERRORS},
        parameters=[openapi.BATCH_RETRY_AFTER],
    )
    def post(self, request):
        submission = submit.request_pdfs(request.user, request.FILES.getlist("file"))
        return Response(pdf_submission_payload(submission), status=status.HTTP_202_ACCEPTED)


class MetadataView(PlatformAPIView):
    """Look a paper up by ``doi``."""

    @extend_schema(
        summary="Look up a paper's metadata by DOI",
        request=openapi.MetadataLookupSerializer,
        responses={202: writer_openapi.TASK_ACCEPTED, **writer_openapi.TASK_ERRORS},
        parameters=[writer_openapi.RETRY_AFTER],
    )
    def post(self, request):
        return accepted(submit.request_metadata(request.user, request.data))
