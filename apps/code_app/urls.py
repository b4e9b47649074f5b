from django.urls import path

from . import views

urlpatterns = [
    path("api/jobs/", views.JobListView.as_view(), name="job-list"),
    path("api/jobs/submit/", views.JobSubmitView.as_view(), name="job-submit"),
    path("api/jobs/queue/", views.QueueSummaryView.as_view(), name="job-queue"),
    path("api/jobs/<int:job_id>/status/", views.JobStatusView.as_view(), name="job-status"),
    path("api/jobs/<int:job_id>/cancel/", views.JobCancelView.as_view(), name="job-cancel"),
    path("api/jobs/<int:job_id>/output/", views.JobOutputView.as_view(), name="job-output"),
]
