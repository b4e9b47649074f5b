from django.contrib import admin

from .models import Figure


@admin.register(Figure)
class FigureAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "created_at")
    list_filter = ("created_at",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
