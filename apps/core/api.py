"""The edge of the REST API: the base view and the translation of errors to JSON."""

import logging

from redis.exceptions import RedisError
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from . import parsers
from .exceptions import PlatformError, QuotaExceeded

logger = logging.getLogger(__name__)

_DRF_CODES = {
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "request_too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


class PlatformAPIView(APIView):
    """Base of every API view: throttles count before permissions are checked.

    DRF checks permissions first, so an anonymous client hammering a
    login-only endpoint would never reach its per-IP throttle.
    """

    def initial(self, request, *args, **kwargs):
        self.format_kwarg = self.get_format_suffix(**kwargs)
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        version, scheme = self.determine_version(request, *args, **kwargs)
        request.version, request.versioning_scheme = version, scheme
        self.perform_authentication(request)
        self.check_throttles(request)
        self.check_permissions(request)


def platform_error_response(error):
    response = Response(error.as_dict(), status=error.status_code)
    if isinstance(error, QuotaExceeded):
        response["Retry-After"] = str(error.retry_after)
    return response


def _throttled_body(exc, request):
    decision = getattr(request, "throttle_decision", None)
    wait = decision.retry_after_seconds if decision else int(exc.wait or 1)
    return {
        "error": "throttled",
        "detail": f"Too many requests; try again in {wait} s.",
        "retry_after": wait,
        "limit": decision.limit if decision else None,
        "remaining": decision.remaining if decision else 0,
    }


def exception_handler(exc, context):
    """Return every API error as JSON with an ``error`` code and a ``detail`` sentence."""
    if isinstance(exc, PlatformError):
        return platform_error_response(exc)
    if isinstance(exc, RequestDataTooBig):
        exc = parsers.too_large()
    if isinstance(exc, RedisError):
        # The throttles count every request in Redis, so while it is down no
        # request gets further than this.
        logger.warning("API request to %s failed: Redis is unreachable: %s", context["request"].path, exc)
        return Response(
            {
                "error": "service_unavailable",
                "detail": "Redis, which counts rate limits and queues work, is unreachable; try again in a minute.",
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.Throttled):
        response.data = _throttled_body(exc, context["request"])
        return response
    detail = response.data.get("detail") if isinstance(response.data, dict) else None
    if detail is None:
        detail = response.data
    response.data = {
        "error": _DRF_CODES.get(response.status_code, "invalid_request"),
        "detail": str(detail),
    }
    return response
