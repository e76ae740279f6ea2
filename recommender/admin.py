"""The recommender in the admin. Each part adds its pages under its heading.

Steering, teens and wellbeing (R3): guardian links (staff may end one, as either member may: the
teen's switches go back off), feed profiles with the guardian's switches, instructions and their
clauses, see-less videos and check-ins, read-only. Vectors are never shown, only whether one is stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from recommender import guardians
from recommender.models import CheckIn, FeedProfile, Guardianship, SeeLess, SteerClause, Steering


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows to look at; the services own every write."""

    hidden: tuple[str, ...] = ()  # vectors: 384 numbers say nothing to a person

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name not in self.hidden]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.hidden)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- steering, teens, wellbeing (R3) -----------------------------------------------------------


@admin.register(Guardianship)
class GuardianshipAdmin(ReadOnlyAdmin):
    list_display = ("id", "guardian", "teen", "state", "invited_by", "created_at", "confirmed_at", "ended_at")
    list_filter = ("state", "invited_by")
    search_fields = ("guardian__username", "teen__username")
    list_select_related = ("guardian", "teen")
    ordering = ("-created_at",)
    actions = ("end_links",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Ending is a change: the action needs it, the form stays read-only (get_readonly_fields).
        return bool(request.user.has_perm("recommender.change_guardianship"))

    @admin.action(description="End the selected links (the teens' switches go back off)")
    def end_links(self, request: HttpRequest, queryset: QuerySet[Guardianship]) -> None:
        ended = sum(guardians.guardianship_close(link=link) for link in queryset)
        self.message_user(request, f"{ended} link(s) ended.", messages.SUCCESS)


@admin.register(FeedProfile)
class FeedProfileAdmin(ReadOnlyAdmin):
    list_display = ("user_id", "personalisation_off", "continuous_scroll_off", "topics", "updated_at")
    list_filter = ("personalisation_off", "continuous_scroll_off")
    search_fields = ("user_id",)


@admin.register(Steering)
class SteeringAdmin(ReadOnlyAdmin):
    list_display = ("user_id", "text", "updated_at")
    search_fields = ("user_id", "text")


@admin.register(SteerClause)
class SteerClauseAdmin(ReadOnlyAdmin):
    hidden = ("vector",)
    list_display = ("user_id", "source", "direction", "text", "expires_at", "created_at")
    list_filter = ("source", "direction")
    search_fields = ("user_id", "text")


@admin.register(SeeLess)
class SeeLessAdmin(ReadOnlyAdmin):
    hidden = ("vector",)
    list_display = ("user_id", "video_id", "creator_id", "created_at")
    search_fields = ("user_id", "video_id", "creator_id")


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    list_display = ("id", "user_id", "shown_at", "answer", "answered_at")
    list_filter = ("answer",)
    search_fields = ("user_id",)
