"""The vis page and its forms, which call the same services as the API."""

import json

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from apps.writer_app.pages import render_submission

from .models import Figure
from .services import submit

EXAMPLE_SPEC = {
    "kind": "line",
    "title": "Jobs finished per hour",
    "x_label": "hour",
    "y_label": "jobs",
    "series": [
        {"label": "alice", "x": [1, 2, 3, 4, 5], "y": [3, 5, 4, 6, 8]},
        {"label": "bob", "x": [1, 2, 3, 4, 5], "y": [1, 2, 4, 3, 5]},
    ],
}
SHOWN_FIGURES = 50


@login_required
def vis_page(request):
    figures = Figure.objects.filter(owner=request.user)[:SHOWN_FIGURES]
    context = {"figures": figures, "example_spec": json.dumps(EXAMPLE_SPEC, indent=2)}
    return render(request, "vis/vis.html", context)


@login_required
@require_POST
def figure_form(request):
    return render_submission(
        request, submit.save_figure, request.POST, template="vis/_figure_saved.html", success_status=201
    )


@login_required
@require_POST
def export_form(request, figure_id):
    figure = get_object_or_404(Figure, pk=figure_id, owner=request.user)
    return render_submission(request, submit.request_export, figure, request.POST, template="vis/_submit_result.html")
