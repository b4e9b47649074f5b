from django.shortcuts import get_object_or_404
from rest_framework.response import Response

from .api import PlatformAPIView
from .dispatch import task_payload
from .models import TaskRecord
from .quotas import get_user_quota_status


class QuotaView(PlatformAPIView):
    """The user's remaining quotas; reading them spends none."""

    def get(self, request):
        return Response(get_user_quota_status(request.user))


class TaskStatusView(PlatformAPIView):
    def get(self, request, task_id):
        # 404 rather than 403 for other users' tasks, so ids do not leak.
        record = get_object_or_404(TaskRecord, task_id=task_id, owner=request.user)
        return Response(task_payload(record))
