"""Shapes of the scholar API's requests and responses for the OpenAPI schema.

The views validate with apps.scholar_app.services.submit, not with these
serializers, which only describe the fields for drf-spectacular. The limits
come from the constants and settings that the validation reads.
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from apps.core.openapi import (
    COMMON_ERRORS,
    ErrorSerializer,
    InvalidFieldErrorSerializer,
    JobLimitErrorSerializer,
    RateLimitedErrorSerializer,
    TaskSerializer,
    ThrottledErrorSerializer,
    error,
)
from apps.core.router import Tier
from apps.writer_app.openapi import error_by_code

from .services.literature import SOURCES
from .services.submit import DEFAULT_RESULTS, MAX_QUERY_CHARS, MAX_RESULTS


# Both tiers are one choice set, because drf-spectacular warns about an enum
# name collision when components give the field tier different choice sets.
TIER_CHOICES = [Tier.ASYNC.value, Tier.COMPUTE.value]


def searchable_sources():
    """Return the sources request_search accepts: every source, or only offline when SCHOLAR_PROVIDER is offline."""
    return SOURCES if settings.SCHOLAR_PROVIDER != "offline" else ("offline",)


class PaperSearchSerializer(serializers.Serializer):
    query = serializers.CharField(max_length=MAX_QUERY_CHARS, help_text="Words to search for, not blank.")
    source = serializers.ChoiceField(
        choices=searchable_sources(),
        default=settings.SCHOLAR_PROVIDER,
        help_text="Where to search. The sources other than offline are accepted only when SCHOLAR_PROVIDER is not offline.",
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_RESULTS, default=DEFAULT_RESULTS, help_text="The maximum number of papers returned."
    )


class PdfUploadSerializer(serializers.Serializer):
    # NOTE: Django rejects a request with more than DATA_UPLOAD_MAX_NUMBER_FILES
    # files before the view runs, with an HTML 400 page rather than a JSON error.
    file = serializers.ListField(
        child=serializers.FileField(),
        min_length=1,
        max_length=settings.DATA_UPLOAD_MAX_NUMBER_FILES,
        help_text=(
            f"One or more PDFs, the field repeated once per file. Each file must be at most "
            f"{settings.PDF_UPLOAD_MAX_BYTES} bytes and contain %PDF- in its first 1024 bytes."
        ),
    )


class MetadataLookupSerializer(serializers.Serializer):
    doi = serializers.CharField(
        help_text="A DOI such as 10.1234/example. A leading https://doi.org/, https://dx.doi.org/ or doi: is removed."
    )


class TaskBatchSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=TIER_CHOICES, help_text="Always async: the items became one task each.")
    tasks = TaskSerializer(many=True, help_text="One task per item, in the order sent.")


class PdfBatchJobSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=TIER_CHOICES, help_text="Always compute: the PDFs became one compute job.")
    job_id = serializers.IntegerField(help_text="The compute job, whose state is at /code/api/jobs/{job_id}/status/.")
    files = serializers.IntegerField(help_text="The number of PDFs in the job.")
    results_path = serializers.CharField(help_text="Where the job writes results.json, relative to your workspace.")
    detail = serializers.CharField()


PDF_ACCEPTED = OpenApiResponse(
    PolymorphicProxySerializer(
        component_name="PdfSubmission",
        serializers=[TaskSerializer, TaskBatchSerializer, PdfBatchJobSerializer],
        resource_type_field_name=None,
    ),
    description=(
        f"Accepted. One file returns its task, 2 to {settings.COMPUTE_BATCH_THRESHOLD - 1} files return "
        f"one task each, and {settings.COMPUTE_BATCH_THRESHOLD} or more return the compute job they became."
    ),
)

# Retry-After comes with rate_limited and throttled, but not with job_limit_reached.
BATCH_RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before the next request, sent with errors rate_limited and throttled.",
)

# The errors of endpoints whose large batches become one compute job through
# apps.scholar_app.services.batches, which adds the job errors to the task errors.
BATCH_ERRORS = {
    400: error_by_code(
        "InvalidBatchRequestError",
        {
            "invalid_field": InvalidFieldErrorSerializer,
            "invalid_request": ErrorSerializer,
            "scheduler_rejected": ErrorSerializer,
        },
        "A field is invalid (error invalid_field): field names the first one and fields all of them, "
        "and field batch means more items than the quota allows at once. A body that cannot be parsed "
        "gives error invalid_request, and a compute job the scheduler rejects gives scheduler_rejected.",
    ),
    **COMMON_ERRORS,
    429: error_by_code(
        "BatchLimitError",
        {
            "rate_limited": RateLimitedErrorSerializer,
            "job_limit_reached": JobLimitErrorSerializer,
            "throttled": ThrottledErrorSerializer,
        },
        "The user's quota of this kind of work is spent (error rate_limited), a compute job would exceed "
        "the user's submitted jobs (error job_limit_reached), or the API request throttle is spent "
        "(error throttled). Nothing was enqueued.",
    ),
    503: error(
        ErrorSerializer,
        "Admins paused this kind of work (error admission_paused), or the scheduler or Redis could not "
        "be reached for a compute job (error scheduler_unavailable).",
    ),
}
PDF_ERRORS = {
    **BATCH_ERRORS,
    415: error(ErrorSerializer, "The body is not multipart/form-data (error unsupported_media_type)."),
}
