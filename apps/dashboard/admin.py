from django.contrib import admin

from .models import AdminAction


@admin.register(AdminAction)
class AdminActionAdmin(admin.ModelAdmin):
    """The console's audit log, read-only so the record cannot be rewritten from the admin."""

    list_display = ("created_at", "actor_username", "action", "target_username", "kind")
    list_filter = ("action", "kind")
    search_fields = ("actor_username", "target_username", "kind")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
