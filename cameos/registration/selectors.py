"""Reads of registrations: only their owner sees them (anyone else: 404)."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from cameos import errors
from cameos.models import Registration
from config.errors import KinoError


def registration_get_for_owner(*, owner_id: UUID, registration_id: UUID) -> Registration:
    registration = Registration.objects.filter(id=registration_id, owner_id=owner_id).first()
    if registration is None:
        raise KinoError(errors.REGISTRATION_NOT_FOUND)
    return registration


def registrations_of(*, owner_id: UUID) -> QuerySet[Registration]:
    return Registration.objects.filter(owner_id=owner_id).order_by("-created_at", "-id")
