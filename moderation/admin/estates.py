"""Estate requests in the admin: a moderator checks the representative's claim, then registers the
block (the figure becomes deceased with its estate block on) or declines it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.errors import KinoError
from moderation.estates import estate_block_register, estate_request_decline
from moderation.models import EstateRequest


@admin.register(EstateRequest)
class EstateRequestAdmin(admin.ModelAdmin):
    list_display = ("person_name", "representative", "contact_email", "state", "figure", "created_at")
    list_filter = ("state",)
    search_fields = ("person_name", "representative", "contact_email")
    actions = ["register_block", "decline"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # estates ask through the API; moderators do not invent requests

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Register the estate's block (the person becomes a blocked figure)")
    def register_block(self, request: HttpRequest, queryset: QuerySet[EstateRequest]) -> None:
        self._each(
            request, queryset, lambda item: estate_block_register(request_id=item.id, moderator=request.user)
        )

    @admin.action(description="Decline (the claim could not be checked)")
    def decline(self, request: HttpRequest, queryset: QuerySet[EstateRequest]) -> None:
        self._each(
            request,
            queryset,
            lambda item: estate_request_decline(
                request_id=item.id, moderator=request.user, reason="not verified"
            ),
        )

    def _each(self, request: HttpRequest, queryset: QuerySet[EstateRequest], act: Any) -> None:
        if not self.has_change_permission(request):
            raise PermissionError
        for item in queryset:
            try:
                act(item)
            except KinoError as exc:
                self.message_user(request, f"{item.person_name}: {exc.detail}", messages.WARNING)
            else:
                self.message_user(request, f"{item.person_name}: done.", messages.SUCCESS)
