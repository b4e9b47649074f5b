from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("jobs/submit/", views.submit_job_form, name="dashboard-submit"),
]
