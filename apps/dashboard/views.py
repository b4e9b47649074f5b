from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_POST

from apps.core.exceptions import InvalidJobSpec, PlatformError
from apps.code_app.services.submission import submit_job


@login_required
def dashboard(request):
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "partitions": settings.PARTITIONS,
            "limits": settings.JOB_LIMITS,
        },
    )


@login_required
@require_POST
def submit_job_form(request):
    """Submit a job from the dashboard form; the new row itself arrives over the socket."""
    context = {"errors": {}, "job": None}
    status = 201
    try:
        context["job"] = submit_job(request.user, request.POST, request.FILES)
    except InvalidJobSpec as error:
        context["errors"] = error.errors
        status = 400
    except PlatformError as error:
        context["errors"] = {error.code: error.message}
        status = error.status_code
    # htmx swaps only 2xx answers by default; the page lets 4xx and 5xx
    # through too, so the errors are shown where the form is.
    return render(request, "dashboard/_submit_result.html", context, status=status)
