"""The writer page and its forms, which call the same services as the API."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_POST

from apps.core.exceptions import InvalidJobSpec, PlatformError

from .services import submit

SUBMIT_RESULT_TEMPLATE = "writer/_submit_result.html"


def render_submission(request, action, *args, template=SUBMIT_RESULT_TEMPLATE, success_status=202):
    """Run ``action(request.user, *args)`` and render its result, or its errors, as a fragment.

    The task's result arrives later over /ws/notifications/.
    """
    context = {"errors": {}, "result": None}
    status = success_status
    retry_after = None
    try:
        context["result"] = action(request.user, *args)
    except InvalidJobSpec as error:
        context["errors"] = error.errors
        status = 400
    except PlatformError as error:
        context["errors"] = {error.code: error.message}
        status = error.status_code
        retry_after = getattr(error, "retry_after", None)
    response = render(request, template, context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@login_required
def writer_page(request):
    return render(request, "writer/writer.html")


@login_required
@require_POST
def suggest_form(request):
    return render_submission(request, submit.request_suggestion, request.POST)


@login_required
@require_POST
def generate_form(request):
    return render_submission(request, submit.request_generation, request.POST)


@login_required
@require_POST
def compile_form(request):
    return render_submission(request, submit.request_compile, request.POST)
