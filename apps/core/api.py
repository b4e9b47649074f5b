"""Turns domain errors into JSON answers at the edge of the REST API."""

import logging

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import PlatformError

logger = logging.getLogger(__name__)

_DRF_CODES = {
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


def platform_error_response(error):
    return Response(error.as_dict(), status=error.status_code)


def exception_handler(exc, context):
    """Answer every API error as JSON with an ``error`` code and a ``detail`` sentence."""
    if isinstance(exc, PlatformError):
        return platform_error_response(exc)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data.get("detail") if isinstance(response.data, dict) else None
    if detail is None:
        detail = response.data
    response.data = {
        "error": _DRF_CODES.get(response.status_code, "invalid_request"),
        "detail": str(detail),
    }
    return response
