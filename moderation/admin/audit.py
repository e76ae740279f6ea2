"""The audit log in the admin: readable by moderators and superusers, writable by nobody through it.

Every permission to write answers no, for superusers too (Django grants a superuser everything
the admin asks unless the admin itself says no), so there is no add page, no change form, no
delete page and no bulk action. The database refuses UPDATE and DELETE anyway (migration 0001's
trigger): this is the door, that is the wall.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from moderation.models import AuditEntry, SubjectKind


class ActorFilter(admin.SimpleListFilter):
    """The system (automatic verdicts) or a person (human actions)."""

    title = "actor"
    parameter_name = "by"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("system", "System (automatic verdicts)"), ("human", "People")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        if self.value() == "system":
            return queryset.filter(actor_id__isnull=True)
        if self.value() == "human":
            return queryset.filter(actor_id__isnull=False)
        return queryset


class ActionFilter(admin.SimpleListFilter):
    """The actions that occur in the log (a free-form column, so the choices come from the rows:
    an index-only scan of `action`'s index)."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        actions = AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct()
        return [(action, action) for action in actions]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset.filter(action=self.value()) if self.value() else queryset


class SubjectKindFilter(admin.SimpleListFilter):
    """A fixed list: counting the kinds in the log would read the whole (growing) table per page."""

    title = "subject kind"
    parameter_name = "subject_kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(kind, kind) for kind in (*SubjectKind.values, "figure", "estate")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset.filter(subject_kind=self.value()) if self.value() else queryset


def _json(value: Any) -> str:
    if value in (None, {}, []):
        return "—"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = (
        "at",
        "actor_display",
        "action",
        "subject_kind",
        "subject_id",
        "reason_code",
        "reason_short",
    )
    list_filter = (ActionFilter, ActorFilter, SubjectKindFilter, "at")
    search_fields = ("action", "actor", "subject_id", "reason_code", "reason")
    actions = None
    fields = (
        "at",
        "actor",
        "actor_id",
        "action",
        "subject_kind",
        "subject_id",
        "reason_code",
        "reason",
        "before_display",
        "after_display",
        "detail_display",
    )
    readonly_fields = fields
    show_full_result_count = False  # the log only grows: counting it all on every page costs

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST":
            raise PermissionDenied  # the page is read-only; a forged form gets nowhere either
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description="Actor", ordering="actor")
    def actor_display(self, entry: AuditEntry) -> str:
        return entry.actor or ("system" if entry.actor_id is None else str(entry.actor_id))

    @admin.display(description="Reason")
    def reason_short(self, entry: AuditEntry) -> str:
        return entry.reason[:80]

    @admin.display(description="Before")
    def before_display(self, entry: AuditEntry) -> str:
        return _json(entry.before)

    @admin.display(description="After")
    def after_display(self, entry: AuditEntry) -> str:
        return _json(entry.after)

    @admin.display(description="Detail (evidence)")
    def detail_display(self, entry: AuditEntry) -> str:
        return _json(entry.detail)
