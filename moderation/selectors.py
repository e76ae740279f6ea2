"""Reads of moderation's cases: a member's own statements of reasons, and the queue's items."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from config.errors import KinoError
from moderation import errors
from moderation.models import Decision


def decisions_of_member(*, user_id: UUID) -> QuerySet[Decision]:
    """The decisions that affected the member (their statements of reasons), with any appeal."""
    return Decision.objects.filter(affected_user_id=user_id).select_related("appeal")


def decision_get_for_affected(*, user_id: UUID, decision_id: UUID) -> Decision:
    """One of the member's own decisions; 404 `decision_not_found` for any other."""
    decision = decisions_of_member(user_id=user_id).filter(id=decision_id).first()
    if decision is None:
        raise KinoError(errors.DECISION_NOT_FOUND)
    return decision
