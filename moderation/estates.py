"""Estate blocks: a deceased person's estate asks Kino to block their likeness (a public request,
`POST /api/v1/moderation/estate-requests`), and a moderator who has checked the claim registers it:
the registry gains the person as a deceased figure whose estate block is on (or an existing figure
gets the block), so their names, roles, faces and voices block from then on. Photos and voice
samples are added in the registry as for any figure."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from config.errors import KinoError
from moderation import errors
from moderation.audit import audit_record
from moderation.models import EstateRequest, PublicFigure
from moderation.text.names import figure_names_changed


def estate_request_create(
    *,
    person_name: str,
    representative: str,
    contact_email: str,
    text: str = "",
    aliases: list[str] | None = None,
    roles: list[str] | None = None,
) -> EstateRequest:
    request = EstateRequest.objects.create(
        person_name=person_name.strip(),
        representative=representative.strip(),
        contact_email=contact_email.strip().lower(),
        text=text.strip(),
        aliases=[a.strip() for a in aliases or [] if a.strip()],
        roles=[r.strip() for r in roles or [] if r.strip()],
    )
    audit_record(
        action="estate.request",
        subject_kind="estate",
        subject_id=request.id,
        reason=request.text,
        after={"person_name": request.person_name, "representative": request.representative},
    )
    return request


def _figure_for(request: EstateRequest) -> tuple[PublicFigure, dict[str, Any] | None]:
    """The figure the request names (by name, case-insensitively), or a new one; and its state before."""
    figure = PublicFigure.objects.select_for_update().filter(name__iexact=request.person_name).first()
    if figure is None:
        return PublicFigure(name=request.person_name), None
    return figure, {"status": figure.status, "estate_block": figure.estate_block, "active": figure.active}


@transaction.atomic
def estate_block_register(*, request_id: Any, moderator: Any) -> PublicFigure:
    """The moderator registers the estate's block: the figure is deceased, blocked, and carries the
    request's names and roles and its contact."""
    request = EstateRequest.objects.select_for_update().filter(id=request_id).first()
    if request is None or request.state != EstateRequest.State.OPEN:
        raise KinoError(errors.ESTATE_REQUEST_HANDLED)
    figure, before = _figure_for(request)
    figure.status, figure.estate_block, figure.active = PublicFigure.Status.DECEASED, True, True
    figure.estate_contact = f"{request.representative} <{request.contact_email}>"[:300]
    figure.aliases = sorted({*figure.aliases, *request.aliases})
    figure.roles = sorted({*figure.roles, *request.roles})
    figure.created_by = figure.created_by or moderator
    figure.save()
    request.state, request.figure, request.handled_by = EstateRequest.State.REGISTERED, figure, moderator
    request.handled_at = timezone.now()
    request.save(update_fields=["state", "figure", "handled_by", "handled_at"])
    audit_record(
        action="estate.register",
        actor_id=moderator.id,
        actor=moderator.get_username(),
        subject_kind="estate",
        subject_id=request.id,
        before=before,
        after={"figure_id": str(figure.id), "status": figure.status, "estate_block": True},
    )
    figure_names_changed()
    return figure


@transaction.atomic
def estate_request_decline(*, request_id: Any, moderator: Any, reason: str) -> EstateRequest:
    request = EstateRequest.objects.select_for_update().filter(id=request_id).first()
    if request is None or request.state != EstateRequest.State.OPEN:
        raise KinoError(errors.ESTATE_REQUEST_HANDLED)
    request.state, request.handled_by, request.handled_at = (
        EstateRequest.State.DECLINED,
        moderator,
        timezone.now(),
    )
    request.save(update_fields=["state", "handled_by", "handled_at"])
    audit_record(
        action="estate.decline",
        actor_id=moderator.id,
        actor=moderator.get_username(),
        subject_kind="estate",
        subject_id=request.id,
        reason=reason,
    )
    return request
