"""Shapes of the job API's requests and responses for the OpenAPI schema.

The submit view validates with apps.code_app.services.jobspec, not with
these serializers; they only describe the fields for drf-spectacular.
"""

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from apps.core.openapi import (
    COMMON_ERRORS,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    ErrorSerializer,
    InvalidFieldErrorSerializer,
    JobLimitErrorSerializer,
    ThrottledErrorSerializer,
    error,
)

from .serializers import JobSerializer


class JobSubmitSerializer(serializers.Serializer):
    name = serializers.CharField(
        required=False, help_text="1-64 letters, digits, '.', '_' or '-'; default: the script's file name."
    )
    partition = serializers.CharField(required=False, help_text="normal (default, up to 24 h), express (1 h) or long (7 days).")
    cpus = serializers.IntegerField(required=False, min_value=1, help_text="1 to JOB_MAX_CPUS (16); default 1.")
    memory_gb = serializers.IntegerField(required=False, min_value=1, help_text="1 to JOB_MAX_MEMORY_GB (24); default 1.")
    time_limit = serializers.CharField(
        required=False, help_text="Minutes, or Slurm's format (MM:SS, HH:MM:SS, D-HH:MM:SS); default 60 or the partition's maximum."
    )
    script_path = serializers.CharField(required=False, help_text="A .py or .sh file in your workspace.")
    script = serializers.CharField(required=False, help_text="The script's text, instead of script_path.")
    filename = serializers.CharField(required=False, help_text="File name to store the script text under.")
    environment = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Environment variables for the job (at most 64)."
    )


class JobSubmitUploadSerializer(JobSubmitSerializer):
    script_file = serializers.FileField(required=False, help_text="The script as an upload, instead of script_path.")
    environment = serializers.CharField(required=False, help_text="A JSON object of environment variables.")


class JobCancelSerializer(JobSerializer):
    cancel_requested = serializers.BooleanField(read_only=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "cancel_requested"]
        read_only_fields = fields


class JobListSerializer(serializers.Serializer):
    jobs = JobSerializer(many=True, help_text="The user's 200 newest jobs.")


class JobOutputSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()
    state = serializers.CharField()
    lines = serializers.IntegerField()
    stdout = serializers.CharField(allow_blank=True)
    stdout_truncated = serializers.BooleanField(help_text="True when stdout has more lines than returned.")
    stderr = serializers.CharField(allow_blank=True)
    stderr_truncated = serializers.BooleanField()


class PartitionCountsSerializer(serializers.Serializer):
    PENDING = serializers.IntegerField()
    RUNNING = serializers.IntegerField()


class PendingJobSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()
    name = serializers.CharField()
    reason = serializers.CharField(help_text="Slurm's pending reason, such as Priority or AssocMaxJobsLimit.")
    position = serializers.IntegerField(allow_null=True)


class QueueSummarySerializer(serializers.Serializer):
    backend = serializers.CharField(help_text="local or slurm.")
    partitions = serializers.DictField(child=PartitionCountsSerializer(), help_text="Pending and running jobs per partition.")
    user = serializers.DictField(child=serializers.IntegerField(), help_text="running, submitted, max_running, max_submitted.")
    pending = PendingJobSerializer(many=True)


JOB_LIMIT_OR_THROTTLED = error(
    PolymorphicProxySerializer(
        component_name="JobLimitOrThrottledError",
        serializers=[JobLimitErrorSerializer, ThrottledErrorSerializer],
        resource_type_field_name=None,
    ),
    "The user already has the maximum of submitted jobs (error job_limit_reached), "
    "or too many API requests (error throttled).",
)
SUBMIT_ERRORS = {
    400: error(
        InvalidFieldErrorSerializer,
        "A field is invalid (error invalid_field), or the scheduler rejected the job (error scheduler_rejected).",
    ),
    401: NOT_AUTHENTICATED,
    429: JOB_LIMIT_OR_THROTTLED,
    503: error(ErrorSerializer, "The scheduler or Redis could not be reached (error scheduler_unavailable)."),
}
CANCEL_ERRORS = {
    404: NOT_FOUND,
    409: error(ErrorSerializer, "The job already ended (error job_finished)."),
    503: error(ErrorSerializer, "The scheduler could not be reached (error scheduler_unavailable)."),
    **COMMON_ERRORS,
}
