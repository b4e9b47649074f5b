from celery import shared_task

from apps.core.celery_base import RecordedTask
from apps.core.models import TaskRecord

from .services import suggestions


@shared_task(base=RecordedTask, bind=True, name="apps.writer_app.tasks.ai_suggest", soft_time_limit=60)
def ai_suggest(self, record_id):
    record = TaskRecord.objects.get(pk=record_id)
    return suggestions.suggest(record.input["text"], record.input.get("section", ""))


@shared_task(base=RecordedTask, bind=True, name="apps.writer_app.tasks.ai_generate", soft_time_limit=120)
def ai_generate(self, record_id):
    record = TaskRecord.objects.get(pk=record_id)
    return suggestions.generate(record.input["prompt"])
