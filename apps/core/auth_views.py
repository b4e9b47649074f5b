"""The sign-in page, with attempts limited per client IP address."""

import logging

from django.conf import settings
from django.contrib.auth import views as auth_views

from .quotas import get_limiter
from .ratelimit import RateLimitPolicy
from .throttles import client_ip

logger = logging.getLogger(__name__)


class ThrottledLoginView(auth_views.LoginView):
    """Django's login view, which responds 429 once an IP address has tried too often."""

    template_name = "registration/login.html"

    def post(self, request, *args, **kwargs):
        address = client_ip(request)
        decision = get_limiter().hit("login", f"ip:{address}", RateLimitPolicy.parse(settings.LOGIN_RATE_LIMIT))
        if decision.allowed:
            return super().post(request, *args, **kwargs)
        logger.warning("sign-in attempts from %s exceed %s", address, settings.LOGIN_RATE_LIMIT)
        response = self.render_to_response(
            self.get_context_data(throttled_for=decision.retry_after_seconds), status=429
        )
        response["Retry-After"] = str(decision.retry_after_seconds)
        return response
