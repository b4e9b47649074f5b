from celery import shared_task

from apps.core.celery_base import RecordedTask
from apps.core.models import TaskRecord

from .services import search


@shared_task(base=RecordedTask, bind=True, name="apps.scholar_app.tasks.search_papers", soft_time_limit=60)
def search_papers(self, record_id):
    record = TaskRecord.objects.get(pk=record_id)
    return search.search_offline(record.input["query"], record.input.get("limit", 10))


@shared_task(base=RecordedTask, bind=True, name="apps.scholar_app.tasks.process_pdf", soft_time_limit=120)
def process_pdf(self, record_id):
    record = TaskRecord.objects.get(pk=record_id)
    return search.describe_upload(record.input["path"])
