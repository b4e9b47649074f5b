from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from .api import PlatformAPIView
from .throttles import AnonRateThrottle
from .dispatch import task_payload
from .models import TaskRecord
from .openapi import COMMON_ERRORS, NOT_FOUND, QuotaStatusSerializer, TaskSerializer
from .quotas import get_user_quota_status


class QuotaView(PlatformAPIView):
    """The user's remaining quotas; reading them spends none."""

    # Not counted against the API quota, so a user who spent it can still
    # see when it refills; anonymous callers stay limited per IP address.
    throttle_classes = [AnonRateThrottle]

    @extend_schema(summary="Read your remaining quotas", responses={200: QuotaStatusSerializer, **COMMON_ERRORS})
    def get(self, request):
        return Response(get_user_quota_status(request.user))


class TaskStatusView(PlatformAPIView):
    """One of the user's background tasks: its state, result or error."""

    @extend_schema(summary="Get an async task", responses={200: TaskSerializer, 404: NOT_FOUND, **COMMON_ERRORS})
    def get(self, request, task_id):
        # 404 rather than 403 for other users' tasks, so ids do not leak.
        record = get_object_or_404(TaskRecord, task_id=task_id, owner=request.user)
        return Response(task_payload(record))
