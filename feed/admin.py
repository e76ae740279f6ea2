from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from feed.models import Video


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "state", "duration_ms", "has_audio", "engine", "created_at")
    list_filter = ("state", "has_audio", "engine")
    search_fields = ("id", "owner__username", "prompt")
    list_select_related = ("owner",)
    readonly_fields = [field.name for field in Video._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
