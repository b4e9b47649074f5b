from django.conf import settings
from django.db import models


class Figure(models.Model):
    """A user's figure: a name and a validated plot spec (see services.specs)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="figures")
    name = models.CharField(max_length=100)
    spec = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self):
        return f"figure {self.pk} ({self.name}) of user {self.owner_id}"
