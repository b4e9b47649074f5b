from django.contrib import admin

from .models import QuotaOverride


@admin.register(QuotaOverride)
class QuotaOverrideAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "limit", "burst", "note", "updated_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "note")
    autocomplete_fields = ("user",)
