from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("jobs/submit/", views.submit_job_form, name="dashboard-submit"),
    path("jobs/<int:job_id>/output/", views.job_output, name="dashboard-job-output"),
    path("jobs/<int:job_id>/cancel/", views.cancel_job_form, name="dashboard-job-cancel"),
]
