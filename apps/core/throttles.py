"""DRF throttles backed by the Redis rate limiter, so every process shares one count."""

import ipaddress

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from .metrics import record_throttle
from .quotas import get_limiter, policy_for, push_quota, subject_for_user


def client_ip(request):
    """Return the client's IP address.

    X-Forwarded-For is read only through TRUSTED_PROXY_COUNT proxies: with N
    trusted proxies the client is the Nth address from the right, because
    every address to the left of it could have been written by the client.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(addresses) >= hops:
            candidate = addresses[-hops]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return remote or "unknown"


class LimiterThrottle(BaseThrottle):
    kind = ""

    def subject(self, request):
        raise NotImplementedError

    def policy(self, request):
        raise NotImplementedError

    def allow_request(self, request, view):
        subject = self.subject(request)
        if subject is None:
            return True
        self.decision = get_limiter().hit(self.kind, subject, self.policy(request))
        request.throttle_decision = self.decision
        record_throttle(self.kind, request, self.decision.allowed)
        return self.decision.allowed

    def wait(self):
        return self.decision.retry_after_seconds


class UserRateThrottle(LimiterThrottle):
    """API requests per authenticated user (default 1000/day)."""

    kind = "api"

    def subject(self, request):
        if not request.user or not request.user.is_authenticated:
            return None
        return subject_for_user(request.user.pk)

    def policy(self, request):
        return policy_for(request.user.pk, self.kind)

    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        if request.user and request.user.is_authenticated:
            push_quota(request.user.pk, self.kind)
        return allowed


class AnonRateThrottle(LimiterThrottle):
    """API requests per anonymous client IP (default 100/day)."""

    kind = "anon"

    def subject(self, request):
        if request.user and request.user.is_authenticated:
            return None
        return f"ip:{client_ip(request)}"

    def policy(self, request):
        return policy_for(None, self.kind)
