"""Calls to external HTTP APIs (AI providers, arXiv, PubMed, Crossref).

Services send requests through ``send`` and get back a 2xx response or one of
two errors: ``UpstreamRetryable`` for responses worth retrying later (429,
5xx, timeouts, refused connections), carrying the server's Retry-After, and
``UpstreamError`` for everything else. Tasks wrap their service call in
``upstream_retries``, which turns a retryable error into a Celery retry with
a countdown, or into a failure naming the reason once the retries are spent.
"""

import logging
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

logger = logging.getLogger(__name__)

USER_AGENT = "fairshare-platform/0.1 (+httpx)"
ERROR_SNIPPET_CHARS = 300


class UpstreamError(Exception):
    """An external API failed in a way that retrying will not fix; ``status_code`` is its HTTP status, if any."""

    def __init__(self, message, *, status_code=None):
        super().__init__(message)
        self.status_code = status_code


class UpstreamRetryable(UpstreamError):
    """An external API is busy or unreachable; ``retry_after`` is its wait in seconds, if it gave one."""

    def __init__(self, message, *, retry_after=None, status_code=None):
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class TaskTimedOut(Exception):
    """A task ran past its soft time limit."""


def parse_retry_after(value, *, now=None):
    """Return the wait in seconds that a Retry-After header requests, or None.

    The header is either a number of seconds or an HTTP date (RFC 9110,
    section 10.2.3). A date in the past means no wait.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max((when - now).total_seconds(), 0.0)


def describe_error(response):
    """Return the reason an error response gives: its JSON error message, else the start of its body."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:ERROR_SNIPPET_CHARS] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        kind, message = error.get("type") or error.get("code"), error.get("message")
        return f"{kind}: {message}" if kind and message else str(message or kind)
    if isinstance(error, str):
        return error
    return str(body)[:ERROR_SNIPPET_CHARS]


def send(method, url, *, service, timeout, also_accept=(), **kwargs):
    """Send one request to ``service`` and return its response if 2xx or in ``also_accept``.

    Raises UpstreamRetryable for 429, 5xx and transport errors, and
    UpstreamError for any other status.
    """
    headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            response = client.request(method, url, headers=headers, **kwargs)
    except httpx.TimeoutException:
        raise UpstreamRetryable(f"{service} did not respond within {timeout:g} s.") from None
    except httpx.TransportError as exc:
        raise UpstreamRetryable(f"{service} could not be reached: {exc}.") from None

    if response.is_success or response.status_code in also_accept:
        return response
    reason = describe_error(response)
    message = f"{service} returned HTTP {response.status_code} ({reason})."
    if response.status_code == 429 or response.status_code >= 500:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        raise UpstreamRetryable(message, retry_after=wait, status_code=response.status_code)
    raise UpstreamError(message, status_code=response.status_code)


def retry_delay(error, retries_done):
    """Return the seconds to wait before the next try: the server's Retry-After, else exponential backoff."""
    if error.retry_after is not None:
        delay = error.retry_after
    else:
        delay = settings.EXTERNAL_RETRY_BASE_DELAY * 2**retries_done
    return min(delay, settings.EXTERNAL_RETRY_MAX_DELAY)


@contextmanager
def upstream_retries(task, record):
    """Retry ``task`` when the service call inside raises UpstreamRetryable.

    ``record.attempts`` counts the runs of the task body, so the task fails
    with the last reason once it has run EXTERNAL_MAX_RETRIES + 1 times.
    Waits for the platform-wide task limit do not count as attempts. A soft
    time limit becomes a TaskTimedOut naming the limit.
    """
    try:
        yield
    except UpstreamRetryable as error:
        tries = settings.EXTERNAL_MAX_RETRIES + 1
        if record.attempts >= tries:
            logger.warning("task %s of user %s gave up after %s attempts: %s", record.task_id, record.owner_id, tries, error)
            raise UpstreamError(f"{error} Gave up after {record.attempts} attempts.") from None
        delay = retry_delay(error, record.attempts - 1)
        logger.info("task %s of user %s retries in %.1f s: %s", record.task_id, record.owner_id, delay, error)
        retry = UpstreamRetryable(f"{error} Retrying in {delay:g} s (attempt {record.attempts} of {tries}).")
        raise task.retry(countdown=delay, max_retries=None, exc=retry) from None
    except SoftTimeLimitExceeded:
        raise TaskTimedOut(f"The task did not finish within its time limit of {task.soft_time_limit} s.") from None
