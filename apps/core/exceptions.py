"""Domain errors. apps.core.api turns them into HTTP responses."""


class PlatformError(Exception):
    """Base class: carries an HTTP status and a machine-readable code."""

    status_code = 400
    code = "error"

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def as_dict(self):
        return {"error": self.code, "detail": self.message}


class InvalidJobSpec(PlatformError):
    """One or more fields of a job submission are invalid."""

    code = "invalid_field"

    def __init__(self, errors):
        # errors maps each bad field to a sentence saying what to send instead.
        self.errors = dict(errors)
        self.field = next(iter(self.errors))
        super().__init__(self.errors[self.field])

    def as_dict(self):
        return {
            "error": self.code,
            "field": self.field,
            "detail": self.message,
            "fields": self.errors,
        }


class JobLimitExceeded(PlatformError):
    """The user already has the maximum number of submitted jobs."""

    status_code = 429
    code = "job_limit_reached"

    def __init__(self, message, *, limit, in_use):
        super().__init__(message)
        self.limit = limit
        self.in_use = in_use

    def as_dict(self):
        return {**super().as_dict(), "limit": self.limit, "in_use": self.in_use}


class JobNotCancellable(PlatformError):
    status_code = 409
    code = "job_finished"


class SchedulerUnavailable(PlatformError):
    """The scheduler could not be reached or did not respond in time."""

    status_code = 503
    code = "scheduler_unavailable"


class SchedulerRejected(PlatformError):
    """The scheduler refused the job (policy, partition, resources)."""

    status_code = 400
    code = "scheduler_rejected"


class QuotaExceeded(PlatformError):
    """The user's rate limit for a kind of work is spent; nothing was enqueued."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message, *, kind, retry_after, limit, remaining):
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.limit = limit
        self.remaining = remaining

    def as_dict(self):
        return {
            **super().as_dict(),
            "kind": self.kind,
            "retry_after": self.retry_after,
            "limit": self.limit,
            "remaining": self.remaining,
        }


class AdmissionPaused(PlatformError):
    """An admin paused admission for this kind of work."""

    status_code = 503
    code = "admission_paused"
