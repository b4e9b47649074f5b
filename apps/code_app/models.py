from django.conf import settings
from django.db import models


class JobState(models.TextChoices):
    """Job states, named as Slurm names them."""

    PENDING = "PENDING"
    CONFIGURING = "CONFIGURING"
    RUNNING = "RUNNING"
    COMPLETING = "COMPLETING"
    SUSPENDED = "SUSPENDED"
    REQUEUED = "REQUEUED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    NODE_FAIL = "NODE_FAIL"
    PREEMPTED = "PREEMPTED"
    BOOT_FAIL = "BOOT_FAIL"
    DEADLINE = "DEADLINE"


FINAL_STATES = frozenset(
    {
        JobState.COMPLETED,
        JobState.FAILED,
        JobState.CANCELLED,
        JobState.TIMEOUT,
        JobState.OUT_OF_MEMORY,
        JobState.NODE_FAIL,
        JobState.PREEMPTED,
        JobState.BOOT_FAIL,
        JobState.DEADLINE,
    }
)
ACTIVE_STATES = frozenset(set(JobState.values) - FINAL_STATES)


class JobQuerySet(models.QuerySet):
    def active(self):
        return self.filter(state__in=ACTIVE_STATES)

    def for_owner(self, user):
        return self.filter(owner=user)


class Job(models.Model):
    """One batch job of one user on the compute tier."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    backend = models.CharField(max_length=16)
    scheduler_job_id = models.CharField(max_length=64, blank=True, db_index=True)
    name = models.CharField(max_length=64)
    partition = models.CharField(max_length=32)
    cpus = models.PositiveSmallIntegerField()
    memory_gb = models.PositiveSmallIntegerField()
    time_limit_minutes = models.PositiveIntegerField()
    script_path = models.CharField(max_length=1024, help_text="Relative to the owner's workspace.")
    environment = models.JSONField(default=dict, blank=True)

    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.PENDING)
    pending_reason = models.CharField(max_length=64, blank=True)
    queue_position = models.PositiveIntegerField(null=True, blank=True)
    # Slurm's priority of a waiting job and its fair-share part (sprio), refreshed
    # with the fair-share factors; empty on the local scheduler.
    priority = models.IntegerField(null=True, blank=True)
    fairshare_priority = models.IntegerField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    exit_signal = models.IntegerField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)

    submit_time = models.DateTimeField(auto_now_add=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-submit_time", "-id"]
        indexes = [models.Index(fields=["owner", "state"]), models.Index(fields=["state"])]

    def __str__(self):
        return f"job {self.pk} ({self.name}) of user {self.owner_id}: {self.state}"

    @property
    def is_final(self):
        return self.state in FINAL_STATES

    @property
    def output_dir_name(self):
        return f"job-{self.pk}"
