import os
import secrets

from rest_framework.parsers import MultiPartParser

from apps.code_app.services.workspace import user_workspace
from apps.core.api import PlatformAPIView
from apps.core.dispatch import enqueue
from apps.core.exceptions import InvalidJobSpec
from apps.writer_app.views import accepted, required_text

from . import tasks

MAX_PDF_BYTES = 50 * 1024 * 1024


class SearchView(PlatformAPIView):
    def post(self, request):
        query = required_text(request.data, "query", maximum=500)
        return accepted(enqueue(request.user, "paper_search", tasks.search_papers, input={"query": query}))


class PdfView(PlatformAPIView):
    parser_classes = [MultiPartParser]

    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidJobSpec({"file": "file is missing; upload one PDF as multipart field 'file'."})
        if upload.size > MAX_PDF_BYTES:
            raise InvalidJobSpec({"file": f"file is larger than {MAX_PDF_BYTES // (1024 * 1024)} MB."})
        folder = user_workspace(request.user.pk) / "uploads"
        folder.mkdir(exist_ok=True)
        path = folder / f"{secrets.token_hex(8)}.pdf"
        # The file must exist before the task is sent; a rejected request
        # removes it again.
        with open(path, "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        try:
            record = enqueue(
                request.user, "pdf_process", tasks.process_pdf,
                input={"path": str(path), "filename": os.path.basename(upload.name or "upload.pdf")[:200]},
            )
        except Exception:
            path.unlink(missing_ok=True)
            raise
        return accepted(record)
