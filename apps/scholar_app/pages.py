"""The scholar page and its forms, which call the same services as the API."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_POST

from apps.writer_app.pages import render_submission

from .services import submit
from .services.literature import SOURCES

SUBMIT_RESULT_TEMPLATE = "scholar/_submit_result.html"


@login_required
def scholar_page(request):
    sources = SOURCES if settings.SCHOLAR_PROVIDER != "offline" else ("offline",)
    context = {
        "sources": sources,
        "default_source": settings.SCHOLAR_PROVIDER,
        "batch_threshold": settings.COMPUTE_BATCH_THRESHOLD,
        "metadata_provider": settings.METADATA_PROVIDER,
    }
    return render(request, "scholar/scholar.html", context)


@login_required
@require_POST
def search_form(request):
    return render_submission(request, submit.request_search, request.POST, template=SUBMIT_RESULT_TEMPLATE)


@login_required
@require_POST
def pdf_form(request):
    return render_submission(
        request, submit.request_pdfs, request.FILES.getlist("file"), template=SUBMIT_RESULT_TEMPLATE
    )


@login_required
@require_POST
def metadata_form(request):
    return render_submission(request, submit.request_metadata, request.POST, template=SUBMIT_RESULT_TEMPLATE)
