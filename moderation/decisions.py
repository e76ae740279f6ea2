"""Moderators' decisions and the statements of reasons they send.

A decision acts on the queue item's subject (take down, restore, dismiss, label, ban the owner,
block a likeness), needs a reason (a code from `REASON_CODES` and words the affected person will
read), is audited with its before and after, and tells:
- the affected person a statement of reasons (code + text, the decision's id, until when they may
  appeal) on the WebSocket (`moderation.decision`) and as a notification;
- every reporter of the item its outcome, exactly once (`Report.outcome_told_at`, set under the
  row lock in the deciding transaction).

Moderation sits below feed, so notifications go through listeners that upper apps register
(`outcome_listener_register`; feed's stores a MODERATION notification). Listeners run inside the
deciding transaction (a notification is stored with the decision or not at all); WebSocket events
go once it commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.public import member_deactivate
from config.api import iso
from config.errors import KinoError
from config.events import event_send_on_commit
from moderation import errors
from moderation.labels import labels_changed
from moderation.likeness.loader import ScreeningUnavailable
from moderation.likeness.registry import figure_face_add
from moderation.models import REASON_TEXT_MAX, Decision, Label, LabelKind, PublicFigure, QueueItem, Report
from moderation.queue import (
    _item_locked,
    _require_moderator,
    item_audit,
    item_held_by,
    item_state,
    item_subject,
)
from moderation.subjects import GONE, SubjectView, subject_handler
from moderation.tasks import ban_statement_email_send
from moderation.text.names import figure_names_changed

logger = logging.getLogger(__name__)
Action = Decision.Action

# The statement-of-reasons codes a moderator picks from, with the text the affected person reads.
REASON_CODES: Mapping[str, str] = {
    "sexual_minors": "Sexual content involving minors is never allowed.",
    "sexual_content": "Sexual content is not allowed on Kino.",
    "graphic_violence": "Graphic violence is not allowed on Kino.",
    "violent_extremism": "Content that promotes violent extremism is not allowed.",
    "hate": "Hateful content about people for who they are is not allowed.",
    "harassment": "Harassing or bullying people is not allowed.",
    "self_harm": "Content that encourages self-harm is not allowed.",
    "misleading": "Fake footage of real-world news events is not allowed.",
    "public_figure_likeness": "Using a public figure's likeness is not allowed.",
    "cameo_misuse": "A cameo was used against its owner's terms.",
    "spam": "Spam and manipulation are not allowed.",
    "other_policy": "This breaks Kino's rules.",
    "no_violation": "We reviewed it and found no violation of Kino's rules.",
}

# Decisions the affected person may appeal; a dismissal affects nobody, a restoration is good news.
APPEALABLE = frozenset({Action.TAKE_DOWN, Action.LABEL, Action.BAN_USER, Action.BLOCK_LIKENESS})


OutcomeKind = Literal["statement", "report", "appeal"]


@dataclass(frozen=True)
class Outcome:
    """Something a person is told about a decision: `statement` (they are the affected person),
    `report` (the outcome of their report), `appeal` (the outcome of their appeal)."""

    kind: OutcomeKind
    recipient_id: UUID
    decision_id: UUID
    subject_kind: str
    subject_id: UUID
    action: str
    reason_code: str
    reason_text: str
    labels: tuple[str, ...] = ()
    appealable_until: datetime | None = None
    appeal_outcome: str = ""  # "upheld" | "overturned" for kind "appeal"
    report_id: UUID | None = None

    def payload(self) -> dict[str, Any]:
        """The WebSocket event's and the notification's data."""
        data: dict[str, Any] = {
            "decision_id": str(self.decision_id),
            "subject": {"kind": self.subject_kind, "id": str(self.subject_id)},
            "action": self.action,
            "reason": {"code": self.reason_code, "text": self.reason_text},
        }
        if self.kind == "statement":
            data["labels"] = list(self.labels)
            data["appealable_until"] = iso(self.appealable_until)
        if self.kind == "appeal":
            data["appeal_outcome"] = self.appeal_outcome
        if self.report_id is not None:
            data["report_id"] = str(self.report_id)
        return data


OutcomeListener = Callable[[Outcome], None]
_LISTENERS: list[OutcomeListener] = []


def outcome_listener_register(listener: OutcomeListener) -> None:
    """An upper app hears every outcome told (feed: a MODERATION notification); once per listener."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def _event_send(outcome: Outcome) -> None:
    # One literal type per call: tests/test_asyncapi.py finds the types the code sends by reading it.
    user_id, data = outcome.recipient_id, outcome.payload()
    if outcome.kind == "statement":
        event_send_on_commit(user_id=user_id, event_type="moderation.decision", data=data)
    elif outcome.kind == "report":
        event_send_on_commit(user_id=user_id, event_type="moderation.report", data=data)
    else:
        event_send_on_commit(user_id=user_id, event_type="moderation.appeal", data=data)


def outcomes_tell(outcomes: Iterable[Outcome]) -> None:
    """Inside the deciding transaction: listeners now, the WebSocket event once it commits."""
    for outcome in outcomes:
        for listener in _LISTENERS:
            listener(outcome)
        _event_send(outcome)


def reason_checked(reason_code: str, reason_text: str) -> str:
    if reason_code not in REASON_CODES:
        raise KinoError(errors.REASON_CODE_UNKNOWN, field="reason_code")
    text = reason_text.strip()
    if not text:
        raise KinoError(errors.REASON_REQUIRED, field="reason_text")
    if len(text) > REASON_TEXT_MAX:
        raise KinoError(errors.REASON_REQUIRED, f"At most {REASON_TEXT_MAX} characters.", field="reason_text")
    return text


# --- the actions ----------------------------------------------------------------------


@dataclass
class _Act:
    """One decision in the making: what it acts on and what it did (for the audit's `after`)."""

    item: QueueItem
    moderator: Any
    view: SubjectView
    reason: str
    labels: tuple[str, ...] = ()
    figure_name: str = ""
    decision: Decision | None = None
    owner: Any = None  # the member a ban acts on, read once by _check
    done: dict[str, Any] = field(default_factory=dict)

    @property
    def owner_id(self) -> UUID | None:
        return self.view.owner_id or self.item.subject_owner_id


def _not_applicable(message: str, field_name: str | None = None) -> KinoError:
    return KinoError(errors.ACTION_NOT_APPLICABLE, message, field=field_name)


def _check(act: _Act, action: str) -> None:
    """Refuse an action that cannot apply to this item, before anything changes."""
    acts_on_subject = action in (Action.TAKE_DOWN, Action.RESTORE, Action.BLOCK_LIKENESS)
    if acts_on_subject and (subject_handler(act.item.subject_kind) is None or act.view.state == GONE):
        raise _not_applicable("This object can no longer be acted on.")
    if action == Action.LABEL and not (act.labels and set(act.labels) <= set(LabelKind.values)):
        raise _not_applicable("Pick one or more labels: warn, not_in_feeds, not_for_teens.", "labels")
    if action == Action.BAN_USER:
        act.owner = get_user_model().objects.filter(id=act.owner_id).first() if act.owner_id else None
        if act.owner is None or act.owner.is_staff:
            raise _not_applicable("There is no member to ban here (staff are not banned here).")
    if action == Action.BLOCK_LIKENESS and not act.figure_name.strip():
        raise _not_applicable("Name the public figure to block.", "figure_name")


def _take_down(act: _Act) -> None:
    handler = subject_handler(act.item.subject_kind)
    assert handler is not None
    handler.take_down(act.item.subject_id, act.moderator.id, act.reason)
    act.done["taken_down"] = True


def _restore(act: _Act) -> None:
    handler = subject_handler(act.item.subject_kind)
    assert handler is not None
    handler.restore(act.item.subject_id, act.moderator.id)
    act.done["restored"] = True


def _label(act: _Act) -> None:
    for label in act.labels:
        Label.objects.get_or_create(
            subject_kind=act.item.subject_kind,
            subject_id=act.item.subject_id,
            label=label,
            defaults={"decision": act.decision},
        )
    labels_changed(act.item.subject_kind, act.item.subject_id)
    act.done["labels_added"] = list(act.labels)


def _ban(act: _Act) -> None:
    assert act.owner is not None  # _check refused a ban with no member to ban
    member_deactivate(user=act.owner)
    act.done["banned"] = str(act.owner_id)
    # They can no longer sign in to read it or appeal: the statement and an appeal code go by email.
    assert act.decision is not None
    decision_id = str(act.decision.id)
    transaction.on_commit(lambda: ban_statement_email_send.delay(decision_id=decision_id))


def _face_from_poster(act: _Act, figure: PublicFigure) -> None:
    """The subject's poster as the figure's first reference photo, when it has one; a poster with no
    face or several (or no face model to read it) is noted in the audit, not an error: the moderator
    adds photos in the registry."""
    handler = subject_handler(act.item.subject_kind)
    image = handler.poster(act.item.subject_id) if handler is not None and handler.poster else None
    if image is None:
        act.done["face"] = "no image"
        return
    try:
        face = figure_face_add(figure=figure, image=image, filename="poster.jpg", actor=act.moderator)
    except ValidationError as refusal:
        act.done["face"] = " ".join(refusal.messages)
        return
    except ScreeningUnavailable:
        act.done["face"] = "the face model is unavailable: add photos in the registry"
        return
    act.done["face"] = str(face.id)


def _block_likeness(act: _Act) -> None:
    name = act.figure_name.strip()[:200]
    figure = PublicFigure.objects.create(name=name, aliases=[name], created_by=act.moderator)
    figure_names_changed()
    act.done["figure_id"] = str(figure.id)
    _face_from_poster(act, figure)
    if act.item.subject_kind != "user":  # a member impersonating someone is banned, not "taken down"
        _take_down(act)


_ACTIONS: dict[str, Callable[[_Act], None]] = {
    Action.TAKE_DOWN: _take_down,
    Action.RESTORE: _restore,
    Action.DISMISS: lambda act: None,
    Action.LABEL: _label,
    Action.BAN_USER: _ban,
    Action.BLOCK_LIKENESS: _block_likeness,
}


def _subject_state(view: SubjectView) -> dict[str, Any]:
    return {"state": view.state, "owner_id": str(view.owner_id or "")}


def outcome_of(decision: Decision, kind: OutcomeKind, recipient_id: UUID, **fields: Any) -> Outcome:
    """What `recipient_id` is told about `decision`: its subject, action and reason, unless `fields`
    say otherwise."""
    told: dict[str, Any] = {
        "decision_id": decision.id,
        "subject_kind": decision.subject_kind,
        "subject_id": decision.subject_id,
        "action": decision.action,
        "reason_code": decision.reason_code,
        "reason_text": decision.reason_text,
    }
    return Outcome(kind=kind, recipient_id=recipient_id, **{**told, **fields})


def _reporters_told(item: QueueItem, decision: Decision) -> list[Outcome]:
    """Each report of the item not yet told, marked told under its row lock: told exactly once."""
    reports = list(
        Report.objects.select_for_update().filter(item=item, outcome_told_at__isnull=True).order_by("id")
    )
    Report.objects.filter(id__in=[report.id for report in reports]).update(outcome_told_at=timezone.now())
    return [
        outcome_of(
            decision,
            "report",
            report.reporter_id,
            reason_text=REASON_CODES[decision.reason_code],
            report_id=report.id,
        )
        for report in reports
    ]


def statement_of(decision: Decision) -> Outcome:
    assert decision.affected_user_id is not None
    return outcome_of(
        decision,
        "statement",
        decision.affected_user_id,
        labels=tuple(decision.labels),
        appealable_until=decision.appealable_until,
    )


@transaction.atomic
def decision_make(
    *,
    item_id: UUID,
    moderator: Any,
    action: str,
    reason_code: str,
    reason_text: str,
    labels: Iterable[str] = (),
    figure_name: str = "",
) -> Decision:
    """Decide a claimed report or automatic item (appeals go through `appeals.appeal_decide`)."""
    _require_moderator(moderator)
    item = _item_locked(item_id)
    if item.kind == QueueItem.Kind.APPEAL:
        raise KinoError(errors.ITEM_IS_APPEAL)
    item_held_by(item, moderator)
    if action not in _ACTIONS:
        raise _not_applicable("Unknown action.", "action")
    text = reason_checked(reason_code, reason_text)
    act = _Act(item, moderator, item_subject(item), text, tuple(dict.fromkeys(labels)), figure_name)
    _check(act, action)
    before = {"item": item_state(item), "subject": _subject_state(act.view)}
    now = timezone.now()
    affected = None if action == Action.DISMISS else act.owner_id
    act.decision = Decision.objects.create(
        item=item,
        moderator=moderator,
        action=action,
        labels=list(act.labels) if action == Action.LABEL else [],
        reason_code=reason_code,
        reason_text=text,
        subject_kind=item.subject_kind,
        subject_id=item.subject_id,
        affected_user_id=affected,
        appealable_until=now + timedelta(seconds=settings.MODERATION_APPEAL_WINDOW_S)
        if action in APPEALABLE and affected is not None
        else None,
    )
    if affected is not None:
        # Told before the action runs: a ban closes the member's sockets once this commits, and the
        # statement must reach them first (an action that fails rolls the telling back with it).
        outcomes_tell([statement_of(act.decision)])
    _ACTIONS[action](act)
    item.state, item.decided_at, item.updated_at = QueueItem.State.DECIDED, now, now
    item.save(update_fields=["state", "decided_at", "updated_at"])
    item_audit(
        f"decision.{action}",
        moderator,
        item,
        reason_code=reason_code,
        reason=text,
        before=before,
        after={"item": item_state(item), "subject": _subject_state(item_subject(item)), **act.done},
        detail={"decision_id": str(act.decision.id)},
    )
    outcomes_tell(_reporters_told(item, act.decision))
    logger.info("moderation.decided", extra={"decision_id": str(act.decision.id), "action": action})
    return act.decision
