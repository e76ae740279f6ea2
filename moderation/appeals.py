"""Appeals: the affected person's one appeal of a decision, within MODERATION_APPEAL_WINDOW_S, back
to the same queue as the decided item with both sides visible (the decision and the appeal's text),
reviewed by a different moderator. Overturning undoes the action:

- take down (and block likeness's takedown) -> the subject is restored;
- label -> the labels this decision added are removed;
- ban user -> the member is active again (their sessions stay revoked: they sign in afresh);
- block likeness -> the public figure it registered is deactivated (kept, for the record).

The appellant is told the outcome exactly once (`Appeal.outcome_told_at`, set under the row lock).
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from accounts.public import member_reactivate
from config.errors import KinoError
from moderation import errors
from moderation.audit import audit_record
from moderation.decisions import Outcome, outcome_of, outcomes_tell
from moderation.labels import labels_changed
from moderation.models import REASON_TEXT_MAX, Appeal, AuditEntry, Decision, Label, PublicFigure, QueueItem
from moderation.queue import (
    _item_locked,
    _require_moderator,
    item_audit,
    item_held_by,
    item_state,
    username_of,
)
from moderation.subjects import subject_handler
from moderation.text.names import figure_names_changed

Action = Decision.Action


def _appeal_state(appeal: Appeal) -> dict[str, Any]:
    return {"outcome": appeal.outcome, "reviewer": str(appeal.reviewer_id) if appeal.reviewer_id else None}


@transaction.atomic
def appeal_file(*, decision_id: UUID, appellant_id: UUID, text: str) -> Appeal:
    """The affected person appeals (404 for a decision that is not theirs; 409 when it cannot be
    appealed, its window closed or they appealed it already)."""
    decision = (
        Decision.objects.select_for_update(of=("self",))
        .select_related("item")
        .filter(id=decision_id, affected_user_id=appellant_id)
        .first()
    )
    if decision is None:
        raise KinoError(errors.DECISION_NOT_FOUND)
    if decision.appealable_until is None:
        raise KinoError(errors.DECISION_NOT_APPEALABLE)
    if timezone.now() > decision.appealable_until:
        raise KinoError(errors.APPEAL_WINDOW_CLOSED)
    if Appeal.objects.filter(decision=decision).exists():  # the decision's row lock orders appellants
        raise KinoError(errors.APPEAL_EXISTS)
    text = text.strip()[:REASON_TEXT_MAX]
    if not text:
        raise KinoError(errors.REASON_REQUIRED, "Say why the decision is wrong.", field="text")
    appeal = Appeal.objects.create(decision=decision, appellant_id=appellant_id, text=text)
    original = decision.item
    item = QueueItem.objects.create(
        kind=QueueItem.Kind.APPEAL,
        subject_kind=decision.subject_kind,
        subject_id=decision.subject_id,
        subject_owner_id=decision.affected_user_id,
        queue=original.queue,
        severity=original.severity,
        reports_count=original.reports_count,
        reach=original.reach,
        priority=original.priority,
        summary=f"Appeal of {decision.action} ({decision.reason_code}): {text}"[:300],
        appeal=appeal,
    )
    audit_record(
        action="appeal.file",
        actor_id=appellant_id,
        actor=username_of(appellant_id),
        subject_kind=decision.subject_kind,
        subject_id=decision.subject_id,
        reason=text,
        after={"item": item_state(item), "appeal": _appeal_state(appeal)},
        detail={"decision_id": str(decision.id), "appeal_id": str(appeal.id), "item_id": str(item.id)},
    )
    return appeal


def _figure_of(decision: Decision) -> PublicFigure | None:
    entry = (
        AuditEntry.objects.filter(action="decision.block_likeness", detail__decision_id=str(decision.id))
        .values_list("after", flat=True)
        .first()
    )
    figure_id = (entry or {}).get("figure_id")
    return PublicFigure.objects.filter(id=figure_id).first() if figure_id else None


def _undo(decision: Decision, moderator: Any) -> dict[str, Any]:
    """Undo what `decision` did; what was undone, for the audit."""
    undone: dict[str, Any] = {}
    if decision.action in (Action.TAKE_DOWN, Action.BLOCK_LIKENESS) and decision.subject_kind != "user":
        handler = subject_handler(decision.subject_kind)
        if handler is not None:
            handler.restore(decision.subject_id, moderator.id)
            undone["restored"] = True
    if decision.action == Action.LABEL:
        labelled = Label.objects.filter(decision=decision)  # its subject, and what was made of it since
        subjects = set(labelled.values_list("subject_kind", "subject_id"))
        removed, _ = labelled.delete()
        for kind, subject_id in subjects | {(decision.subject_kind, decision.subject_id)}:
            labels_changed(kind, subject_id)
        undone["labels_removed"] = removed
    if decision.action == Action.BAN_USER and decision.affected_user_id is not None:
        member_reactivate(user_id=decision.affected_user_id)
        undone["reactivated"] = str(decision.affected_user_id)
    if decision.action == Action.BLOCK_LIKENESS:
        figure = _figure_of(decision)
        if figure is not None:
            figure.active = False
            figure.save(update_fields=["active", "updated_at"])
            figure_names_changed()
            undone["figure_deactivated"] = str(figure.id)
    return undone


def _appellant_told(appeal: Appeal, decision: Decision) -> list[Outcome]:
    if appeal.outcome_told_at is not None:
        return []
    appeal.outcome_told_at = timezone.now()
    appeal.save(update_fields=["outcome_told_at"])
    return [
        outcome_of(
            decision,
            "appeal",
            appeal.appellant_id,
            reason_code=decision.reason_code if appeal.outcome == Appeal.Outcome.UPHELD else "no_violation",
            reason_text=appeal.outcome_text,
            appeal_outcome=appeal.outcome,
        )
    ]


@transaction.atomic
def appeal_decide(
    *, item_id: UUID, moderator: Any, outcome: Literal["upheld", "overturned"], reason_text: str
) -> Appeal:
    """A different moderator than the one who decided upholds or overturns (undoing the action)."""
    _require_moderator(moderator)
    item = _item_locked(item_id)
    if item.kind != QueueItem.Kind.APPEAL or item.appeal_id is None:
        raise KinoError(errors.ITEM_NOT_APPEAL)
    item_held_by(item, moderator)
    appeal = Appeal.objects.select_for_update().select_related("decision").get(id=item.appeal_id)
    decision = appeal.decision
    if decision.moderator_id == moderator.id:
        raise KinoError(errors.APPEAL_SAME_MODERATOR)
    if outcome not in (Appeal.Outcome.UPHELD, Appeal.Outcome.OVERTURNED):
        raise KinoError(errors.ACTION_NOT_APPLICABLE, "Uphold or overturn.", field="outcome")
    text = reason_text.strip()[:REASON_TEXT_MAX]
    if not text:
        raise KinoError(errors.REASON_REQUIRED, field="reason_text")
    before = {"item": item_state(item), "appeal": _appeal_state(appeal)}
    undone = _undo(decision, moderator) if outcome == Appeal.Outcome.OVERTURNED else {}
    now = timezone.now()
    appeal.outcome, appeal.reviewer, appeal.outcome_text, appeal.decided_at = outcome, moderator, text, now
    appeal.save(update_fields=["outcome", "reviewer", "outcome_text", "decided_at"])
    item.state, item.decided_at, item.updated_at = QueueItem.State.DECIDED, now, now
    item.save(update_fields=["state", "decided_at", "updated_at"])
    item_audit(  # the appeal's item names the decision's subject
        f"appeal.{outcome}",
        moderator,
        item,
        reason_code=decision.reason_code if outcome == Appeal.Outcome.UPHELD else "no_violation",
        reason=text,
        before=before,
        after={"item": item_state(item), "appeal": _appeal_state(appeal), **undone},
        detail={"decision_id": str(decision.id), "appeal_id": str(appeal.id)},
    )
    outcomes_tell(_appellant_told(appeal, decision))
    return appeal
