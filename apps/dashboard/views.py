from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from apps.core.exceptions import InvalidJobSpec, PlatformError
from apps.code_app.models import Job
from apps.code_app.services.output import job_output_tail
from apps.code_app.services.submission import cancel_job, submit_job

OUTPUT_PANEL_LINES = 200


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
    # htmx swaps only 2xx responses by default; the page lets 4xx and 5xx
    # through too, so the errors are shown where the form is.
    return render(request, "dashboard/_submit_result.html", context, status=status)


def _owned_job(request, job_id):
    # 404 rather than 403 for other users' jobs, so ids do not leak.
    return get_object_or_404(Job, pk=job_id, owner=request.user)


@login_required
@require_GET
def job_output(request, job_id):
    """Render the end of a job's output for the dashboard's output panel."""
    job = _owned_job(request, job_id)
    output = job_output_tail(job, OUTPUT_PANEL_LINES)
    return render(request, "dashboard/_job_output.html", {"job": job, "output": output, "lines": OUTPUT_PANEL_LINES})


@login_required
@require_POST
def cancel_job_form(request, job_id):
    """Cancel a job from its row; the new state arrives over the socket."""
    job = _owned_job(request, job_id)
    try:
        cancel_job(job)
    except PlatformError as error:
        return render(request, "dashboard/_submit_result.html", {"errors": {error.code: error.message}}, status=error.status_code)
    return render(request, "dashboard/_submit_result.html", {"message": f"Cancelling job {job.pk} ({job.name})."}, status=202)
