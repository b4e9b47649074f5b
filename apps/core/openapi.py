"""Shapes of the API's bodies for the OpenAPI schema: errors and the core endpoints.

These serializers only describe JSON for drf-spectacular; the views build
their bodies themselves (apps.core.api for errors).
"""

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from .models import TaskState


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="Machine-readable code, such as not_found or admission_paused.")
    detail = serializers.CharField(help_text="What went wrong and what to do next, as a sentence.")


class InvalidFieldErrorSerializer(ErrorSerializer):
    field = serializers.CharField(help_text="The first invalid field.")
    fields = serializers.DictField(child=serializers.CharField(), help_text="Every invalid field and its message.")


class RateLimitedErrorSerializer(ErrorSerializer):
    kind = serializers.CharField(help_text="The quota that is spent, such as ai_suggest.")
    retry_after = serializers.IntegerField(help_text="Seconds until one more request is allowed.")
    limit = serializers.IntegerField(help_text="Requests allowed at once.")
    remaining = serializers.IntegerField()


class ThrottledErrorSerializer(ErrorSerializer):
    retry_after = serializers.IntegerField(help_text="Seconds until one more request is allowed.")
    limit = serializers.IntegerField(allow_null=True)
    remaining = serializers.IntegerField()


class JobLimitErrorSerializer(ErrorSerializer):
    limit = serializers.IntegerField(help_text="Submitted (pending or running) jobs allowed at once.")
    in_use = serializers.IntegerField(help_text="The user's submitted jobs now.")


def error(serializer, description):
    return OpenApiResponse(serializer, description=description)


NOT_AUTHENTICATED = error(ErrorSerializer, "No valid token or session (error not_authenticated).")
NOT_FOUND = error(ErrorSerializer, "No such object of this user (error not_found); other users' ids also give 404.")
THROTTLED = error(
    ThrottledErrorSerializer, "Too many API requests (error throttled); the Retry-After header gives the wait."
)
INVALID_FIELD = error(InvalidFieldErrorSerializer, "A field is invalid (error invalid_field).")
ADMISSION_PAUSED = error(ErrorSerializer, "Admins paused this kind of work (error admission_paused).")
RATE_LIMITED_OR_THROTTLED = error(
    PolymorphicProxySerializer(
        component_name="RateLimitedOrThrottledError",
        serializers=[RateLimitedErrorSerializer, ThrottledErrorSerializer],
        resource_type_field_name=None,
    ),
    "The user's quota of this kind of work is spent (error rate_limited) or the API request throttle "
    "is (error throttled). Nothing was enqueued; Retry-After gives the wait.",
)
COMMON_ERRORS = {401: NOT_AUTHENTICATED, 429: THROTTLED}


class RateStatusSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    rate = serializers.CharField(help_text="The refill rate, such as 10/min.")
    limit = serializers.IntegerField(help_text="Requests allowed at once (the burst).")
    remaining = serializers.IntegerField()
    reset_in = serializers.FloatField(help_text="Seconds until the quota is full again.")
    refill_interval = serializers.FloatField(help_text="Seconds per request regained.")


class JobCapsSerializer(serializers.Serializer):
    running = serializers.IntegerField()
    submitted = serializers.IntegerField()
    max_running = serializers.IntegerField()
    max_submitted = serializers.IntegerField()


class QuotaStatusSerializer(serializers.Serializer):
    rates = serializers.DictField(child=RateStatusSerializer(), help_text="Each rate quota by kind.")
    jobs = JobCapsSerializer()


class TaskSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    kind = serializers.CharField()
    state = serializers.ChoiceField(choices=TaskState.choices)
    result = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    job_id = serializers.IntegerField(allow_null=True, help_text="The compute job a batch became, if any.")
    created_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
