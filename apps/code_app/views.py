from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from apps.core.api import PlatformAPIView
from apps.core.parsers import FormParser, MultiPartParser, ObjectJSONParser

from apps.core.exceptions import InvalidJobSpec
from apps.core.openapi import COMMON_ERRORS, INVALID_FIELD, NOT_FOUND

from . import openapi

from .models import Job, JobState
from .schedulers.base import get_backend
from .serializers import JobSerializer
from .services import output as job_output
from .services.jobspec import shown
from .services.submission import cancel_job, submit_job



def owned_job(request, job_id):
    # 404 rather than 403 for other users' jobs, so ids do not leak.
    return get_object_or_404(Job, pk=job_id, owner=request.user)


class JobSubmitView(PlatformAPIView):
    """Submit a job from a script in the workspace, an upload or the script text."""

    parser_classes = [ObjectJSONParser, MultiPartParser, FormParser]

    @extend_schema(
        summary="Submit a job",
        description="Send exactly one of script_path, script (text) or script_file (multipart upload).",
        request={
            "application/json": openapi.JobSubmitSerializer,
            "multipart/form-data": openapi.JobSubmitUploadSerializer,
            "application/x-www-form-urlencoded": openapi.JobSubmitSerializer,
        },
        responses={201: JobSerializer, **openapi.SUBMIT_ERRORS},
    )
    def post(self, request):
        job = submit_job(request.user, request.data, request.FILES)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class JobStatusView(PlatformAPIView):
    """One of the user's jobs, with its state, pending reason and exit code."""

    @extend_schema(summary="Get one job", responses={200: JobSerializer, 404: NOT_FOUND, **COMMON_ERRORS})
    def get(self, request, job_id):
        return Response(JobSerializer(owned_job(request, job_id)).data)


class JobCancelView(PlatformAPIView):
    """Ask the scheduler to cancel one of the user's jobs; the final state follows."""

    @extend_schema(
        summary="Cancel a job",
        description="Requests cancellation; the final state (CANCELLED) follows through the poller.",
        request=None,
        responses={202: openapi.JobCancelSerializer, **openapi.CANCEL_ERRORS},
    )
    def post(self, request, job_id):
        job = cancel_job(owned_job(request, job_id))
        data = JobSerializer(job).data
        data["cancel_requested"] = True
        return Response(data, status=status.HTTP_202_ACCEPTED)


class JobOutputView(PlatformAPIView):
    """The last lines of a job's stdout and stderr."""

    @extend_schema(
        summary="Read the end of a job's output",
        parameters=[
            OpenApiParameter("lines", OpenApiTypes.INT, description="Lines of each stream, 1 to 1000 (default 100)."),
        ],
        responses={200: openapi.JobOutputSerializer, 400: INVALID_FIELD, 404: NOT_FOUND, **COMMON_ERRORS},
    )
    def get(self, request, job_id):
        job = owned_job(request, job_id)
        raw_lines = request.query_params.get("lines", "100")
        maximum = settings.JOB_OUTPUT_TAIL_MAX_LINES
        if not raw_lines.isdigit() or not 1 <= int(raw_lines) <= maximum:
            raise InvalidJobSpec({"lines": f"lines must be a whole number from 1 to {maximum}; got {raw_lines!r}."})
        lines = int(raw_lines)
        body = {"job_id": job.pk, "state": job.state, "lines": lines, **job_output.job_output_tail(job, lines)}
        return Response(body)


class JobListView(PlatformAPIView):
    """The user's jobs, newest first, optionally filtered by state."""

    @extend_schema(
        summary="List your jobs",
        parameters=[OpenApiParameter("state", OpenApiTypes.STR, description="Only jobs in this state, such as RUNNING.")],
        responses={200: openapi.JobListSerializer, **COMMON_ERRORS},
    )
    def get(self, request):
        jobs = Job.objects.for_owner(request.user)
        state = request.query_params.get("state")
        if state:
            if state.upper() not in JobState.values:
                choices = ", ".join(JobState.values)
                raise InvalidJobSpec({"state": f"state must be one of {choices}; got {shown(state)}."})
            jobs = jobs.filter(state=state.upper())
        return Response({"jobs": JobSerializer(jobs[:200], many=True).data})


class QueueSummaryView(PlatformAPIView):
    """Pending and running jobs per partition, the user's use of the caps and their waiting jobs."""

    @extend_schema(summary="Summarise the queue", responses={200: openapi.QueueSummarySerializer, **COMMON_ERRORS})
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
