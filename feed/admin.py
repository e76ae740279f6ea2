"""The feed in the admin: videos (with the takedown action), comments, and read-only notification
groups and data exports. Nothing here edits a video's fields: state changes go through services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html

from feed import services
from feed.media import signed_path
from feed.models import Comment, DataExport, NotificationGroup, Video, VideoStats

REMOVABLE = (Video.State.DRAFT, Video.State.POSTED)


class NoDirectDelete(admin.ModelAdmin):
    """Rows deleted by their services (counters, files, tombstones), never from their own admin page.
    The delete permission itself stays Django's: deleting a member in the admin checks it for every
    row that goes with them, and a superuser must be able to."""

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        raise PermissionDenied

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ReadOnlyAdmin(NoDirectDelete):
    """Rows to look at, never to write from the admin (their services own them)."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VideoStatsInline(admin.StackedInline):
    model = VideoStats
    can_delete = False
    readonly_fields = (
        "likes",
        "comments",
        "remixes",
        "descendants",
        "views",
        "watch_ms",
        "shares",
        "downloads",
    )
    fields = readonly_fields

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("feed.view_video")  # the counters are part of seeing the video

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RemoveForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept with the video"
    )


@admin.register(Video)
class VideoAdmin(NoDirectDelete):
    list_display = ("id", "owner", "state", "caption_short", "posted_at", "engine", "created_at")
    list_filter = ("state", "remix_allowed", "has_audio", "engine")
    search_fields = ("id", "owner__username", "prompt", "caption")
    list_select_related = ("owner",)
    readonly_fields = ["playback", *(field.name for field in Video._meta.fields)]
    inlines = [VideoStatsInline]
    actions = ["remove"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # "change" on the list is the takedown action's permission; a video's form stays read-only.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="Caption")
    def caption_short(self, video: Video) -> str:
        return video.caption[:60]

    @admin.display(description="Media")
    def playback(self, video: Video) -> str:
        if video.state not in REMOVABLE or not video.video:
            return "—"
        return format_html(
            '<video controls preload="metadata" width="240" poster="{}" src="{}"></video>',
            signed_path(video, "poster"),
            signed_path(video, "video"),
        )

    @admin.action(description="Remove (takedown)", permissions=["change"])
    def remove(self, request: HttpRequest, queryset: QuerySet[Video]) -> HttpResponse | None:
        form = RemoveForm(request.POST if "confirm" in request.POST else None)
        if not form.is_valid():
            videos = queryset.select_related("owner").filter(state__in=REMOVABLE)
            context = {
                **self.admin_site.each_context(request),
                "title": "Remove (takedown)",
                "opts": self.model._meta,
                "form": form,
                "videos": list(videos),
            }
            return render(request, "admin/feed/video/remove.html", context)
        reason = form.cleaned_data["reason"]
        removed = sum(
            services.video_remove(video_id=video_id, by_id=request.user.pk, reason=reason)
            for video_id in queryset.values_list("id", flat=True)
        )
        self.message_user(request, f"Removed {removed} videos.", messages.SUCCESS)
        return None


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("id", "author", "video", "body_short", "parent", "created_at")
    search_fields = ("body", "author__username")
    list_select_related = ("author", "video")
    raw_id_fields = ("video", "author", "parent")

    @admin.display(description="Body")
    def body_short(self, comment: Comment) -> str:
        return comment.body[:80]


@admin.register(NotificationGroup)
class NotificationGroupAdmin(ReadOnlyAdmin):
    list_display = ("id", "recipient", "type", "count", "updated_at", "read_at")
    list_filter = ("type",)
    search_fields = ("recipient__username",)
    list_select_related = ("recipient",)


@admin.register(DataExport)
class DataExportAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "state", "percent", "size_bytes", "created_at", "finished_at")
    list_filter = ("state",)
    search_fields = ("user__username",)
    list_select_related = ("user",)
