import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .ratelimit import RateLimitPolicy

JOB_CAP_KINDS = {"max_running": "Running jobs", "max_submitted": "Submitted jobs"}
# Far above any sensible cap, and within Slurm's 32-bit association limits.
MAX_JOB_CAP = 100_000


def quota_kind_choices():
    rate_kinds = [(kind, policy["label"]) for kind, policy in settings.RATE_LIMITS.items() if kind != "anon"]
    return rate_kinds + list(JOB_CAP_KINDS.items())


class QuotaOverride(models.Model):
    """A per-user limit that replaces the platform default for one kind of work.

    For rate kinds, ``limit`` is a rate such as ``20/min`` and ``burst`` the
    number allowed at once (default: the rate's count). For job caps
    (max_running, max_submitted), ``limit`` is a whole number.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quota_overrides")
    kind = models.CharField(max_length=32, choices=quota_kind_choices)
    limit = models.CharField(max_length=32, help_text="A rate such as 20/min, or a job count for job caps.")
    burst = models.PositiveIntegerField(null=True, blank=True, help_text="Requests allowed at once (rates only).")
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_override_per_user_and_kind")]

    def __str__(self):
        return f"{self.kind} of user {self.user_id}: {self.limit}"

    def clean(self):
        if self.kind in JOB_CAP_KINDS:
            if not self.limit.isdigit() or not 1 <= int(self.limit) <= MAX_JOB_CAP:
                raise ValidationError({"limit": f"A job cap must be a whole number from 1 to {MAX_JOB_CAP}."})
            if self.burst is not None:
                raise ValidationError({"burst": "Job caps have no burst; leave it empty."})
            return
        try:
            RateLimitPolicy.parse(self.limit, burst=self.burst)
        except ValueError as exc:
            raise ValidationError({"limit": str(exc)}) from None


class TaskState(models.TextChoices):
    """Task states, named as Celery names them."""

    PENDING = "PENDING"
    STARTED = "STARTED"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


TASK_FINAL_STATES = frozenset({TaskState.SUCCESS, TaskState.FAILURE})


class TaskRecord(models.Model):
    """One piece of async work of one user: its input, state and result.

    The Celery task receives only this record's id; the owner reads the record
    at /api/tasks/<task_id>/.
    """

    task_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_records")
    kind = models.CharField(max_length=32)
    task_name = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=TaskState.choices, default=TaskState.PENDING)
    input = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    job = models.ForeignKey("code_app.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self):
        return f"task {self.task_id} ({self.kind}) of user {self.owner_id}: {self.state}"

    @property
    def is_final(self):
        return self.state in TASK_FINAL_STATES
