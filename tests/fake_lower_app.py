"""Stands in for an app below generation (moderation banning a member, cameos revoking consent):
it stops the work that depends on something through accounts' hook and knows nothing of generation."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction

from accounts.public import WorkStop, work_stop
from config.errors import ErrorCode

MEMBER_BANNED = ErrorCode("test_member_banned", "You were banned from making clips.", 403)


def member_ban(*, user_id: UUID) -> int:
    with transaction.atomic():
        return work_stop(WorkStop(subject="user", subject_id=user_id, error=MEMBER_BANNED))
