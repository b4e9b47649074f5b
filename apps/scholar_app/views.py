"""The scholar's JSON API: paper search, PDF processing and metadata by DOI."""

from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from apps.core.api import PlatformAPIView
from apps.core.dispatch import task_payload
from apps.writer_app.views import accepted

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

    def post(self, request):
        return accepted(submit.request_search(request.user, request.data))


class PdfView(PlatformAPIView):
    """Process uploaded PDFs (multipart field ``file``, repeated for several).

    One file returns its task, 2 to 99 return {"tasks": [...]}, and
    COMPUTE_BATCH_THRESHOLD (100) or more with the compute job they became.
    """

    parser_classes = [MultiPartParser]

    def post(self, request):
        submission = submit.request_pdfs(request.user, request.FILES.getlist("file"))
        return Response(pdf_submission_payload(submission), status=status.HTTP_202_ACCEPTED)


class MetadataView(PlatformAPIView):
    """Look a paper up by ``doi``."""

    def post(self, request):
        return accepted(submit.request_metadata(request.user, request.data))
