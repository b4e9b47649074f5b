"""Error pages: JSON for API paths, so clients always get the documented error body."""

from django.http import JsonResponse
from django.views.defaults import page_not_found

API_PREFIXES = ("/api/", "/code/api/", "/writer/api/", "/scholar/api/", "/vis/api/")


def not_found(request, exception=None):
    if request.path.startswith(API_PREFIXES):
        return JsonResponse(
            {"error": "not_found", "detail": f"No API endpoint or object at {request.path}; check the path and id."},
            status=404,
        )
    return page_not_found(request, exception)
