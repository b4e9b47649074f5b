from django.conf import settings
from django.db import models


class AdminAction(models.Model):
    """One action a staff user took from the fairness console, kept as an audit log.

    The usernames are copied, so the record still names both users after
    either account is deleted.
    """

    class Action(models.TextChoices):
        CANCEL_JOBS = "cancel_jobs", "Cancel a user's jobs"
        SET_OVERRIDE = "set_override", "Set a quota override"
        CLEAR_OVERRIDE = "clear_override", "Clear a quota override"
        PAUSE_ADMISSION = "pause_admission", "Pause admission"
        RESUME_ADMISSION = "resume_admission", "Resume admission"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="admin_actions"
    )
    actor_username = models.CharField(max_length=150)
    action = models.CharField(max_length=32, choices=Action.choices)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_username = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=32, blank=True, help_text="The quota or kind of work acted on.")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        target = f" on {self.target_username}" if self.target_username else ""
        kind = f" ({self.kind})" if self.kind else ""
        return f"{self.actor_username}: {self.action}{target}{kind} at {self.created_at:%Y-%m-%d %H:%M:%S}"
