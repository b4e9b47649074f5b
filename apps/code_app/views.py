from django.conf import settings
from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from apps.core.api import PlatformAPIView

from apps.core.exceptions import InvalidJobSpec

from .models import Job
from .schedulers.base import get_backend
from .serializers import JobSerializer
from .services import output as job_output
from .services.submission import cancel_job, submit_job
from .services.workspace import job_output_dir

OUTPUT_STREAMS = ("stdout", "stderr")


def owned_job(request, job_id):
    # 404 rather than 403 for other users' jobs, so ids do not leak.
    return get_object_or_404(Job, pk=job_id, owner=request.user)


class JobSubmitView(PlatformAPIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def post(self, request):
        job = submit_job(request.user, request.data, request.FILES)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class JobStatusView(PlatformAPIView):
    def get(self, request, job_id):
        return Response(JobSerializer(owned_job(request, job_id)).data)


class JobCancelView(PlatformAPIView):
    def post(self, request, job_id):
        job = cancel_job(owned_job(request, job_id))
        data = JobSerializer(job).data
        data["cancel_requested"] = True
        return Response(data, status=status.HTTP_202_ACCEPTED)


class JobOutputView(PlatformAPIView):
    def get(self, request, job_id):
        job = owned_job(request, job_id)
        raw_lines = request.query_params.get("lines", "100")
        maximum = settings.JOB_OUTPUT_TAIL_MAX_LINES
        if not raw_lines.isdigit() or not 1 <= int(raw_lines) <= maximum:
            raise InvalidJobSpec({"lines": f"lines must be a whole number from 1 to {maximum}; got {raw_lines!r}."})
        lines = int(raw_lines)
        folder = job_output_dir(job)
        body = {"job_id": job.pk, "state": job.state, "lines": lines}
        for stream in OUTPUT_STREAMS:
            text, truncated = job_output.tail_lines(folder / f"{stream}.txt", lines)
            body[stream] = text
            body[f"{stream}_truncated"] = truncated
        return Response(body)


class JobListView(PlatformAPIView):
    def get(self, request):
        jobs = Job.objects.for_owner(request.user)
        state = request.query_params.get("state")
        if state:
            jobs = jobs.filter(state=state.upper())
        return Response({"jobs": JobSerializer(jobs[:200], many=True).data})


class QueueSummaryView(PlatformAPIView):
    def get(self, request):
        active = list(
            Job.objects.active().only("pk", "owner_id", "name", "partition", "state", "pending_reason", "queue_position", "submit_time")
        )
        mine = [job for job in active if job.owner_id == request.user.pk]
        limits = settings.JOB_LIMITS
        return Response(
            {
                "backend": get_backend().name,
                "partitions": get_backend().queue_summary(active),
                "user": {
                    "running": sum(job.state == "RUNNING" for job in mine),
                    "submitted": len(mine),
                    "max_running": limits["max_running"],
                    "max_submitted": limits["max_submitted"],
                },
                "pending": [
                    {"job_id": job.pk, "name": job.name, "reason": job.pending_reason, "position": job.queue_position}
                    for job in mine
                    if job.state == "PENDING"
                ],
            }
        )
