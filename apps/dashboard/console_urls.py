from django.urls import path

from . import console_views

urlpatterns = [
    path("", console_views.console, name="console"),
    path("actions/cancel-jobs/", console_views.cancel_user_jobs, name="console-cancel-jobs"),
    path("actions/override/", console_views.set_override, name="console-set-override"),
    path("actions/override/clear/", console_views.clear_override, name="console-clear-override"),
    path("actions/pause/", console_views.pause_admission, name="console-pause"),
    path("actions/resume/", console_views.resume_admission, name="console-resume"),
]
