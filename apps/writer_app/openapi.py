"""Shapes of the writer API's requests and responses for the OpenAPI schema.

The views validate with apps.writer_app.services.submit, not with these
serializers, which only describe the fields for drf-spectacular. The limits
come from the constants and settings that the validation reads, so the
schema shows the limits of the running configuration.
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from apps.core.openapi import (
    ADMISSION_PAUSED,
    COMMON_ERRORS,
    ErrorSerializer,
    InvalidFieldErrorSerializer,
    RateLimitedErrorSerializer,
    TaskSerializer,
    ThrottledErrorSerializer,
    error,
)

from .services.submit import MAX_PROMPT_CHARS, MAX_SECTION_CHARS, MAX_TEXT_CHARS

# DRF's throttle and apps.core.api both send Retry-After with every 429 of
# these endpoints (throttled and rate_limited).
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    required=True,
    description="Seconds to wait before the next request, the same value as retry_after in the body.",
)


def error_by_code(component_name, serializers_by_code, description):
    """Return an error response whose body schema is chosen by its ``error`` code.

    The discriminator makes the choice explicit: the bodies of some codes
    (rate_limited) contain every field of others (throttled), so a plain
    oneOf would match both.
    """
    union = PolymorphicProxySerializer(
        component_name=component_name, serializers=serializers_by_code, resource_type_field_name="error"
    )
    return error(union, description)


TASK_ACCEPTED = OpenApiResponse(
    TaskSerializer,
    description=(
        "Accepted: the new task in state PENDING. Poll GET /api/tasks/{task_id}/ until its state is "
        "SUCCESS (see result) or FAILURE (see error)."
    ),
)
INVALID_BODY = error_by_code(
    "InvalidRequestError",
    {"invalid_field": InvalidFieldErrorSerializer, "invalid_request": ErrorSerializer},
    "A field is invalid (error invalid_field): field names the first one and fields all of them. "
    "A body that cannot be parsed gives error invalid_request.",
)
TASK_LIMITED = error_by_code(
    "TaskLimitError",
    {"rate_limited": RateLimitedErrorSerializer, "throttled": ThrottledErrorSerializer},
    "The user's quota of this kind of work is spent (error rate_limited), or the API request throttle "
    "is (error throttled). Nothing was enqueued, and Retry-After gives the wait.",
)
# The errors of every endpoint that admits one task through apps.core.dispatch.enqueue.
TASK_ERRORS = {
    400: INVALID_BODY,
    **COMMON_ERRORS,
    429: TASK_LIMITED,
    503: ADMISSION_PAUSED,
}


class SuggestionSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=MAX_TEXT_CHARS, help_text="The text to improve, not blank.")
    section = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=f"The section the text belongs to, such as Introduction. Longer values are cut to {MAX_SECTION_CHARS} characters.",
    )


class DraftSerializer(serializers.Serializer):
    prompt = serializers.CharField(max_length=MAX_PROMPT_CHARS, help_text="What to write, not blank.")


class LatexCompileSerializer(serializers.Serializer):
    source = serializers.CharField(
        max_length=settings.LATEX_MAX_SOURCE_CHARS,
        help_text="A complete LaTeX document, not blank and without NUL characters.",
    )


COMPILED_PDF_RESPONSES = {
    (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The compiled PDF."),
    404: error(
        ErrorSerializer,
        "No successful compile of this user has this id, or its PDF is no longer in the workspace "
        "(error not_found).",
    ),
    **COMMON_ERRORS,
}
