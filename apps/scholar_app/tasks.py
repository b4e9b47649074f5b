"""Scholar tasks: thin wrappers that read their TaskRecord and call a service.

``max_retries=None``: upstream_retries counts the retries of external
calls, and waits for the platform-wide task limit are not limited.
"""

from celery import shared_task

from apps.code_app.services.workspace import resolve_inside, user_workspace
from apps.core.celery_base import RecordedTask
from apps.core.models import TaskRecord
from apps.writer_app.services.upstream import upstream_retries

from .services import literature
from .services.pdf import PdfError, describe_pdf


@shared_task(
    base=RecordedTask, bind=True, name="apps.scholar_app.tasks.search_papers", soft_time_limit=90, max_retries=None
)
def search_papers(self, record_id):
    record = TaskRecord.objects.get(pk=record_id)
    task_input = record.input
    with upstream_retries(self, record):
        return literature.search(task_input["query"], task_input.get("source", "offline"), task_input.get("limit", 10))


@shared_task(
    base=RecordedTask, bind=True, name="apps.scholar_app.tasks.process_pdf", soft_time_limit=120, max_retries=None
)
def process_pdf(self, record_id):
    record = TaskRecord.objects.get(pk=record_id)
    path = resolve_inside(user_workspace(record.owner_id), record.input["path"])
    if path is None or not path.is_file():
        raise PdfError(f"{record.input.get('filename', 'the upload')} is no longer in your workspace.")
    with upstream_retries(self, record):
        return {"path": record.input["path"], **describe_pdf(path, filename=record.input.get("filename"))}


@shared_task(
    base=RecordedTask, bind=True, name="apps.scholar_app.tasks.fetch_metadata", soft_time_limit=60, max_retries=None
)
def fetch_metadata(self, record_id):
    record = TaskRecord.objects.get(pk=record_id)
    with upstream_retries(self, record):
        return literature.fetch_metadata(record.input["doi"], record.input.get("provider", "offline"))
