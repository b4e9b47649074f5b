"""Admitting scholar work: validation, then a task, several tasks, or one compute job.

The API views and the page forms both call these functions.
"""

import re
import secrets
import shutil
from pathlib import PurePosixPath

from django.conf import settings

from apps.code_app.services.workspace import user_workspace
from apps.core.dispatch import enqueue
from apps.core.exceptions import InvalidJobSpec
from apps.core.router import Tier, route
from apps.writer_app.services.submit import required_text

from .batches import enqueue_many, submit_batch_job
from .literature import SOURCES
from .pdf import looks_like_pdf

MAX_QUERY_CHARS = 500
MAX_RESULTS = 50
DEFAULT_RESULTS = 10
UPLOADS_DIR = "uploads"
PDF_BATCHES_DIR = "pdf-batches"
# A DOI is "10." then a registrant code, a slash and a suffix (DOI Handbook, section 2.2).
DOI_PATTERN = re.compile(r"10\.\d{4,9}/\S{1,300}")
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def request_search(user, data):
    """Enqueue a paper search; return the TaskRecord."""
    from .. import tasks

    query = required_text(data, "query", maximum=MAX_QUERY_CHARS)
    source = _clean_source(data.get("source") or settings.SCHOLAR_PROVIDER)
    limit = _clean_limit(data.get("limit"))
    task_input = {"query": query, "source": source, "limit": limit}
    return enqueue(user, "paper_search", tasks.search_papers, input=task_input)


def request_metadata(user, data):
    """Enqueue a metadata look-up of ``data["doi"]``; return the TaskRecord."""
    from .. import tasks

    doi = clean_doi(data.get("doi"))
    task_input = {"doi": doi, "provider": settings.METADATA_PROVIDER}
    return enqueue(user, "metadata", tasks.fetch_metadata, input=task_input)


def request_pdfs(user, uploads):
    """Store uploaded PDFs and process them; return {"tier", "records", "job", "files"}.

    Fewer than COMPUTE_BATCH_THRESHOLD files become one task each, admitted
    together; that many or more become one compute job, whose results land
    in pdf-batches/<batch>/results.json in the user's workspace.
    """
    from .. import tasks

    uploads = list(uploads)
    _check_uploads(uploads)
    workspace = user_workspace(user.pk)
    if route("pdf_process", len(uploads)) is Tier.COMPUTE:
        return _submit_pdf_batch(user, workspace, uploads)

    folder = workspace / UPLOADS_DIR
    folder.mkdir(exist_ok=True)
    inputs = []
    for upload in uploads:
        relative = f"{UPLOADS_DIR}/{secrets.token_hex(8)}.pdf"
        _save(upload, workspace / relative)
        inputs.append({"path": relative, "filename": _display_name(upload)})
    try:
        records = enqueue_many(user, "pdf_process", tasks.process_pdf, inputs)
    except Exception:
        # A rejected request leaves no upload behind.
        for task_input in inputs:
            (workspace / task_input["path"]).unlink(missing_ok=True)
        raise
    return {"tier": Tier.ASYNC.value, "records": records, "job": None, "files": len(uploads)}


def clean_doi(value):
    """Return a DOI without "https://doi.org/" or "doi:" in front, or raise InvalidJobSpec."""
    doi = (value or "").strip() if isinstance(value, str) else ""
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", "", doi, flags=re.IGNORECASE)
    if not DOI_PATTERN.fullmatch(doi):
        raise InvalidJobSpec({"doi": f"doi must look like 10.1234/example; got {value!r}."})
    return doi


def _clean_source(source):
    if source not in SOURCES:
        raise InvalidJobSpec({"source": f"source must be one of {', '.join(SOURCES)}; got {source!r}."})
    if source != "offline" and settings.SCHOLAR_PROVIDER == "offline":
        raise InvalidJobSpec(
            {"source": f"source {source} is off: this platform searches its offline data set only (SCHOLAR_PROVIDER=offline)."}
        )
    return source


def _clean_limit(raw):
    if raw in (None, ""):
        return DEFAULT_RESULTS
    if isinstance(raw, int) and not isinstance(raw, bool):
        limit = raw
    elif isinstance(raw, str) and raw.isdigit():
        limit = int(raw)
    else:
        limit = 0
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidJobSpec({"limit": f"limit must be a whole number from 1 to {MAX_RESULTS}; got {raw!r}."})
    return limit


def _check_uploads(uploads):
    if not uploads:
        raise InvalidJobSpec({"file": "file is missing; upload one or more PDFs as multipart field 'file'."})
    maximum = settings.PDF_UPLOAD_MAX_BYTES
    for upload in uploads:
        name = _display_name(upload)
        if upload.size > maximum:
            raise InvalidJobSpec({"file": f"{name} is larger than {maximum // (1024 * 1024)} MB; upload a smaller file."})
        head = upload.read(1024)
        upload.seek(0)
        if not looks_like_pdf(head):
            raise InvalidJobSpec({"file": f"{name} is not a PDF: it has no %PDF- header in its first 1024 bytes."})


def _submit_pdf_batch(user, workspace, uploads):
    batch = secrets.token_hex(6)
    folder = workspace / PDF_BATCHES_DIR / batch
    inputs = folder / "input"
    inputs.mkdir(parents=True)
    for index, upload in enumerate(uploads, start=1):
        stem = _UNSAFE_NAME_CHARS.sub("_", PurePosixPath(_display_name(upload)).stem)[:100]
        _save(upload, inputs / f"{index:04d}-{stem}.pdf")
    try:
        job = submit_batch_job(user, "pdf-batch", "apps.scholar_app.batch", inputs, folder / "results.json")
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return {
        "tier": Tier.COMPUTE.value,
        "records": [],
        "job": job,
        "files": len(uploads),
        "results_path": f"{PDF_BATCHES_DIR}/{batch}/results.json",
    }


def _display_name(upload):
    return PurePosixPath((upload.name or "upload.pdf").replace("\\", "/")).name[:200] or "upload.pdf"


def _save(upload, path):
    with open(path, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
