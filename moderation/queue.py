"""The moderators' queue: routing a report's reason to a queue, the priority score, claims and notes.

Priority. An item's score is

    score = 10 * severity + 8 * log2(1 + reporters) + 3 * log10(1 + reach) + w * hours waiting

`severity` is that of the worst reason reported (1 spam .. 10 sexual content involving minors),
`reporters` the number of distinct people who reported it, `reach` its audience (views + likes +
remixes of a video, followers of a member), `w` is MODERATION_AGE_WEIGHT_PER_H. The first three
terms are stored in `QueueItem.priority`
when a report arrives; the age term is added when the queue is read (`items_ordered`), so an item
waiting climbs by itself and nothing starves: with the default weight of 1 per hour, a fresh spam
report (severity 1, one reporter: 18) passes a fresh report of graphic violence (70 + 8) after
two and a half days.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, FloatField, QuerySet, Value
from django.db.models.functions import Cast, Extract
from django.utils import timezone

from accounts.public import member_standing
from config.errors import KinoError
from moderation import errors
from moderation.audit import audit_record
from moderation.models import Note, QueueItem, Report
from moderation.subjects import GONE, SubjectView, subject_describe

Reason = Report.Reason
Queue = QueueItem.Queue

# The worst reason of an item decides its queue; unlisted reasons go to `general`.
ROUTES: dict[str, str] = {
    Reason.SEXUAL_MINORS: Queue.MINORS,
    Reason.IMPERSONATION: Queue.LIKENESS,
    Reason.CAMEO_MISUSE: Queue.LIKENESS,
    Reason.VIOLENCE: Queue.VIOLENCE,
    Reason.EXTREMISM: Queue.VIOLENCE,
    Reason.SEXUAL: Queue.SEXUAL,
    Reason.HATE: Queue.HATE,
    Reason.HARASSMENT: Queue.HATE,
    Reason.SELF_HARM: Queue.SELF_HARM,
    Reason.SPAM: Queue.SPAM,
}

SEVERITY: dict[str, int] = {
    Reason.SEXUAL_MINORS: 10,
    Reason.SELF_HARM: 8,
    Reason.EXTREMISM: 7,
    Reason.VIOLENCE: 7,
    Reason.CAMEO_MISUSE: 6,
    Reason.IMPERSONATION: 6,
    Reason.SEXUAL: 5,
    Reason.HATE: 5,
    Reason.HARASSMENT: 4,
    Reason.MISLEADING: 4,
    Reason.OTHER: 2,
    Reason.SPAM: 1,
}


def route(reason: str) -> str:
    return ROUTES.get(reason, Queue.GENERAL)


def severity_of(reason: str) -> int:
    return SEVERITY.get(reason, 1)


def priority_base(*, severity: int, reporters: int, reach: int) -> float:
    """The stored part of the score (see the module's docstring)."""
    return 10.0 * severity + 8.0 * math.log2(1 + max(reporters, 0)) + 3.0 * math.log10(1 + max(reach, 0))


def priority_now(item: QueueItem, *, now: Any = None) -> float:
    """The score as the queue orders it at `now` (default: now)."""
    waited = ((now or timezone.now()) - item.created_at).total_seconds() / 3600
    return item.priority + settings.MODERATION_AGE_WEIGHT_PER_H * max(waited, 0.0)


def items_ordered(queryset: QuerySet[QueueItem] | None = None) -> QuerySet[QueueItem]:
    """Items by their score now, highest first. Since `score = priority + w * (now - created) / 3600`
    and `now` is the same for every row, the order is that of `priority - w * created / 3600`: one
    expression the database sorts by, with no clock in it. `score_key` is annotated."""
    queryset = QueueItem.objects.all() if queryset is None else queryset
    hours = Cast(Extract("created_at", "epoch"), FloatField()) / Value(3600.0)
    key = F("priority") - Value(float(settings.MODERATION_AGE_WEIGHT_PER_H)) * hours
    return queryset.annotate(score_key=key).order_by("-score_key", "id")


def _require_moderator(moderator: Any) -> None:
    if not (moderator.is_active and moderator.has_perm("moderation.claim_queueitem")):
        raise KinoError(errors.MODERATOR_REQUIRED)


def _item_locked(item_id: UUID) -> QueueItem:
    item = QueueItem.objects.select_for_update(of=("self",)).filter(id=item_id).first()
    if item is None:
        raise KinoError(errors.ITEM_NOT_FOUND)
    return item


def claim_fresh(item: QueueItem) -> bool:
    """A claim holds for MODERATION_CLAIM_TTL_S; an older one may be taken over."""
    if item.claimed_by_id is None or item.claimed_at is None:
        return False
    return item.claimed_at > timezone.now() - timedelta(seconds=settings.MODERATION_CLAIM_TTL_S)


def username_of(user_id: UUID) -> str:
    """A member's username for the audit log's `actor` (empty there means the system)."""
    standing = member_standing(user_id=user_id)
    return standing.username if standing is not None else str(user_id)


def item_state(item: QueueItem) -> dict[str, Any]:
    """What the audit log records of an item before and after an action."""
    return {
        "state": item.state,
        "queue": item.queue,
        "claimed_by": str(item.claimed_by_id) if item.claimed_by_id else None,
        "reports_count": item.reports_count,
        "priority": round(item.priority, 3),
    }


def item_held_by(item: QueueItem, moderator: Any) -> None:
    """Refuse an action on `item` unless `moderator` holds a live claim on it."""
    if item.state == QueueItem.State.DECIDED:
        raise KinoError(errors.ITEM_DECIDED)
    if item.claimed_by_id != moderator.id or item.state != QueueItem.State.CLAIMED:
        raise KinoError(errors.ITEM_NOT_CLAIMED)


@transaction.atomic
def item_claim(*, item_id: UUID, moderator: Any) -> QueueItem:
    """The moderator takes the item: nobody else may work it while the claim is fresh (409
    `item_claimed`). The moderator who made the decision under appeal may not claim its appeal
    (403 `appeal_same_moderator`). Claiming again one's own item renews the claim."""
    _require_moderator(moderator)
    item = _item_locked(item_id)
    if item.state == QueueItem.State.DECIDED:
        raise KinoError(errors.ITEM_DECIDED)
    if item.claimed_by_id not in (None, moderator.id) and claim_fresh(item):
        raise KinoError(errors.ITEM_CLAIMED)
    appeal = item.appeal if item.kind == QueueItem.Kind.APPEAL else None
    if appeal is not None and appeal.decision.moderator_id == moderator.id:
        raise KinoError(errors.APPEAL_SAME_MODERATOR)
    before = item_state(item)
    now = timezone.now()
    item.state, item.claimed_by, item.claimed_at, item.updated_at = (
        QueueItem.State.CLAIMED,
        moderator,
        now,
        now,
    )
    item.save(update_fields=["state", "claimed_by", "claimed_at", "updated_at"])
    item_audit("item.claim", moderator, item, before=before, after=item_state(item))
    return item


@transaction.atomic
def item_release(*, item_id: UUID, moderator: Any) -> None:
    """Give the item back to the queue (only its holder may; a stale claim needs no release)."""
    _require_moderator(moderator)
    item = _item_locked(item_id)
    item_held_by(item, moderator)
    before = item_state(item)
    item.state, item.claimed_by, item.claimed_at = QueueItem.State.OPEN, None, None
    item.updated_at = timezone.now()
    item.save(update_fields=["state", "claimed_by", "claimed_at", "updated_at"])
    item_audit("item.release", moderator, item, before=before, after=item_state(item))


@transaction.atomic
def note_add(*, item_id: UUID, author: Any, text: str) -> Note:
    """An internal note on an item (any moderator, claimed or not; never shown to members)."""
    _require_moderator(author)
    text = text.strip()
    if not text:
        raise KinoError(errors.REASON_REQUIRED, "A note needs some text.", field="text")
    item = _item_locked(item_id)
    note = Note.objects.create(item=item, author=author, text=text[: Note._meta.get_field("text").max_length])
    item_audit("item.note", author, item, after={"note_id": str(note.id), "text": note.text})
    return note


def item_audit(
    action: str, moderator: Any, item: QueueItem, *, detail: dict[str, Any] | None = None, **changed: Any
) -> None:
    """A moderator's action on an item, in the audit log (`changed`: its reason, before and after)."""
    audit_record(
        action=action,
        actor_id=moderator.id,
        actor=moderator.get_username(),
        subject_kind=item.subject_kind,
        subject_id=item.subject_id,
        detail={"item_id": str(item.id), **(detail or {})},
        **changed,
    )


def item_subject(item: QueueItem) -> SubjectView:
    """The item's object as a moderator sees it; a placeholder (state `gone`) when it no longer
    exists or no app handles its kind."""
    view = subject_describe(item.subject_kind, item.subject_id, None)
    if view is not None:
        return view
    return SubjectView(
        kind=item.subject_kind,
        id=item.subject_id,
        owner_id=item.subject_owner_id,
        title="No longer available",
        state=GONE,
    )
