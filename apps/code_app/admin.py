from django.contrib import admin

from .models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "name", "partition", "state", "pending_reason", "exit_code", "submit_time")
    list_filter = ("state", "partition", "backend")
    search_fields = ("name", "scheduler_job_id", "owner__username")
    readonly_fields = ("submit_time", "updated_at")
