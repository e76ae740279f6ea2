"""The stored prints in the admin, for staff to check that a video is findable by the lookup: one row per
video, its frame hashes counted (the hashes themselves mean nothing to a reader). Read-only: the
worker's `draft` stage writes prints, and they go with their video."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.db.models.functions import Length
from django.http import HttpRequest

from provenance.models import VideoPrint


@admin.register(VideoPrint)
class VideoPrintAdmin(admin.ModelAdmin):
    list_display = (
        "video_id",
        "handle",
        "duration_ms",
        "width",
        "height",
        "frame_hashes",
        "has_audio",
        "created_at",
    )
    search_fields = ("=video_id", "handle")
    ordering = ("-created_at",)
    fields = list_display
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[VideoPrint]:
        return (
            super()
            .get_queryset(request)
            .defer("audio")
            .annotate(frame_count=Count("frames"), sound_bytes=Length("audio"))
        )

    @admin.display(description="frame hashes", ordering="frame_count")
    def frame_hashes(self, obj: Any) -> int:
        return int(obj.frame_count)

    @admin.display(description="sound print", boolean=True)
    def has_audio(self, obj: Any) -> bool:
        return bool(obj.sound_bytes)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
