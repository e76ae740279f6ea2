"""The append-only audit log: every automatic verdict and every human action goes through `audit_record`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from moderation.models import AuditEntry


def audit_record(
    *,
    action: str,
    actor_id: UUID | None = None,
    actor: str = "",
    subject_kind: str = "",
    subject_id: UUID | str = "",
    reason_code: str = "",
    reason: str = "",
    before: Any = None,
    after: Any = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry; `actor_id` None means the system (an automatic verdict)."""
    return AuditEntry.objects.create(
        action=action,
        actor_id=actor_id,
        actor=actor,
        subject_kind=subject_kind,
        subject_id=str(subject_id),
        reason_code=reason_code,
        reason=reason,
        before=before,
        after=after,
        detail=detail or {},
    )
