"""Writer tasks: thin wrappers that read their TaskRecord and call a service.

Each task takes the record id only. RecordedTask keeps the record's state
and publishes it; ``upstream_retries`` retries busy providers.
``max_retries=None`` because the retry limit of the provider calls is
counted by upstream_retries and waits for the platform-wide task limit are
not limited at all.
"""

from celery import shared_task
from django.conf import settings
from django.urls import reverse

from apps.code_app.services.workspace import user_workspace
from apps.core.celery_base import RecordedTask
from apps.core.models import TaskRecord

from .services import latex, suggestions
from .services.upstream import upstream_retries


@shared_task(
    base=RecordedTask, bind=True, name="apps.writer_app.tasks.ai_suggest", soft_time_limit=120, max_retries=None
)
def ai_suggest(self, record_id):
    record = TaskRecord.objects.get(pk=record_id)
    task_input = record.input
    with upstream_retries(self, record):
        return suggestions.suggest(task_input["text"], task_input.get("section", ""), task_input.get("provider", "offline"))


@shared_task(
    base=RecordedTask, bind=True, name="apps.writer_app.tasks.ai_generate", soft_time_limit=180, max_retries=None
)
def ai_generate(self, record_id):
    record = TaskRecord.objects.get(pk=record_id)
    with upstream_retries(self, record):
        return suggestions.generate(record.input["prompt"], record.input.get("provider", "offline"))


@shared_task(
    base=RecordedTask,
    bind=True,
    name="apps.writer_app.tasks.compile_latex",
    soft_time_limit=settings.LATEX_TIMEOUT + 30,
    max_retries=None,
)
def compile_latex(self, record_id):
    record = TaskRecord.objects.get(pk=record_id)
    workspace = user_workspace(record.owner_id)
    result = latex.compile_document(record.input["source"], workspace, str(record.task_id), timeout=settings.LATEX_TIMEOUT)
    result["pdf_url"] = reverse("writer-compile-pdf", args=[record.task_id])
    return result
