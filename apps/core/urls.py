from django.urls import path

from . import views

urlpatterns = [
    path("quota/", views.QuotaView.as_view(), name="quota"),
    path("tasks/<uuid:task_id>/", views.TaskStatusView.as_view(), name="task-status"),
]
