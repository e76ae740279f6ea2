"""Cameos in the admin, for moderators to read: cameos, registrations, approvals, the usage log.
Nothing is edited here: a cameo is suspended and restored through moderation's decisions (the
"cameo" subject handler), so every action has a reason and an audit entry. Embeddings are never
shown, only whether one is stored."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from cameos.models import Approval, Cameo, CameoReference, Registration, Restriction, Use


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows to look at; their services own every write."""

    hidden: tuple[str, ...] = ()  # fields never shown (biometric templates)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name not in self.hidden]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.hidden)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        raise PermissionDenied

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("cameos.view_cameo")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RestrictionInline(_ReadOnlyInline):
    model = Restriction
    fields = ("text", "created_at")
    readonly_fields = fields


class ReferenceInline(_ReadOnlyInline):
    model = CameoReference
    fields = ("image", "position", "created_at")
    readonly_fields = fields


@admin.register(Cameo)
class CameoAdmin(ReadOnlyAdmin):
    list_display = ("handle", "kind", "owner", "level", "state", "has_face", "consent_version", "created_at")
    list_filter = ("kind", "level", "state")
    search_fields = ("handle", "owner__username", "display_name")
    list_select_related = ("owner",)
    hidden = ("face_embedding", "voice_embedding")
    inlines = (RestrictionInline, ReferenceInline)
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "has_face", "has_voice"]

    @admin.display(boolean=True, description="face stored")
    def has_face(self, cameo: Cameo) -> bool:
        return cameo.face_embedding is not None

    @admin.display(boolean=True, description="voice stored")
    def has_voice(self, cameo: Cameo) -> bool:
        return cameo.voice_embedding is not None


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "kind", "state", "stage", "error_code", "review_requested", "created_at")
    list_filter = ("kind", "state", "error_code", "review_requested")
    search_fields = ("owner__username", "handle", "id")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ("cameo", "user", "state", "created_at", "decided_at")
    list_filter = ("state",)
    search_fields = ("cameo__handle", "user__username")
    list_select_related = ("cameo", "user")


@admin.register(Use)
class UseAdmin(ReadOnlyAdmin):
    list_display = ("cameo", "user", "stage", "allowed", "code", "job_id", "created_at")
    list_filter = ("stage", "allowed", "code")
    search_fields = ("cameo__handle", "user__username", "job_id", "prompt")
    list_select_related = ("cameo", "user")
    date_hierarchy = "created_at"
