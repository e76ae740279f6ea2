"""Writes of the cameos app: the owner's settings, requests and approvals, the usage log, and
revocation.

Revocation is immediate. Everything that can withdraw consent (a lower level, a revoked or denied
approval, a deletion, a moderator's suspension, the owner's ban or deactivation or deletion) runs
in one transaction that locks the cameo row FOR UPDATE, bumps `consent_version` and, where the
change can affect more than one member, stops every queued and running job casting the cameo
(`accounts.public.work_stop(subject="cameo")`, answered by generation). A draft casts a cameo only
under FOR SHARE on the same row (`consent_decide(lock=True)`), so either the draft commits first
or it reads the revocation and refuses.

A single member's approval revoked does not stop everyone's jobs casting the cameo: that member's
jobs are refused by the consent recheck in the worker and before the draft (under the row lock),
so no clip of theirs with the cameo is delivered after the revocation commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.public import WorkStop, member_standing, work_stop
from cameos import errors
from cameos.consent import ConsentDecision
from cameos.hooks import CameoEvent, cameo_listeners_run
from cameos.models import Approval, Cameo, CameoReference, Restriction, Use
from cameos.restrictions import restriction_topic, restrictions_embed
from cameos.selectors import LEVEL_RANK, cameo_get_for_owner, cameo_get_for_viewer, usable
from config.errors import KinoError
from config.events import event_send_on_commit
from config.storage import files_delete_on_commit
from moderation.public import text_judge, text_require

logger = logging.getLogger(__name__)

MAX_RESTRICTIONS = 10
# "everyone" cameos are used by many: their owner hears of uses at most once per cameo in this
# window (the event then says how many uses since the last one it told).
CAMEO_USE_NOTIFY_WINDOW_S = int(getattr(settings, "CAMEO_USE_NOTIFY_WINDOW_S", 3600))


# --- events ----------------------------------------------------------------------------------


def _event(kind: str, cameo: Cameo, *, actor_id: UUID | None, recipient_id: UUID, **data: Any) -> None:
    """The listeners now (inside the transaction), the recipient's devices once it commits."""
    event = CameoEvent(
        kind=kind,
        cameo_id=cameo.id,
        handle=cameo.handle,
        owner_id=cameo.owner_id,
        actor_id=actor_id,
        recipient_id=recipient_id,
        data=data,
    )
    cameo_listeners_run(event)
    payload = {k: (str(v) if isinstance(v, UUID) else v) for k, v in asdict(event).items()}
    payload["data"] = {k: (str(v) if isinstance(v, UUID) else v) for k, v in data.items()}
    event_send_on_commit(user_id=recipient_id, event_type="cameo.event", data=payload)


def _tell_members(kind: str, cameo: Cameo, *, actor_id: UUID | None, **data: Any) -> None:
    """Everyone with a standing request or approval hears of a change to the cameo."""
    members = Approval.objects.filter(
        cameo=cameo, state__in=[Approval.State.REQUESTED, Approval.State.APPROVED]
    ).values_list("user_id", flat=True)
    for member_id in members:
        _event(kind, cameo, actor_id=actor_id, recipient_id=member_id, **data)


# --- revocation ------------------------------------------------------------------------------


def _lock(cameo_id: UUID) -> Cameo:
    """The cameo row, FOR UPDATE (consent decisions under lock wait for this transaction)."""
    return Cameo.objects.select_for_update(of=("self",)).get(id=cameo_id)


def _withdraw(cameo: Cameo, *, member_id: UUID | None = None) -> int:
    """Bump the version (the row is locked) and stop the work casting the cameo: everyone's, or only
    `member_id`'s (an approval revoked). Returns the jobs stopped."""
    cameo.consent_version += 1
    Cameo.objects.filter(id=cameo.id).update(consent_version=cameo.consent_version, updated_at=timezone.now())
    stopped = work_stop(
        WorkStop(
            subject="cameo", subject_id=cameo.id, error=errors.CAMEO_CONSENT_REVOKED, member_id=member_id
        )
    )
    logger.info(
        "cameos.consent_withdrawn",
        extra={"cameo_id": str(cameo.id), "version": cameo.consent_version, "jobs_stopped": stopped},
    )
    return stopped


# --- the owner's settings ---------------------------------------------------------------------


@transaction.atomic
def cameo_update(
    *,
    user_id: UUID,
    cameo_id: UUID,
    teen: bool,
    level: str | None = None,
    display_name: str | None = None,
    personality: str | None = None,
    preferences: str | None = None,
) -> Cameo:
    """The owner changes their cameo; a lower level withdraws consent at once."""
    cameo_get_for_owner(user_id=user_id, cameo_id=cameo_id)  # 404 for anyone else
    if level == Cameo.Level.EVERYONE and teen:
        raise KinoError(errors.LEVEL_NOT_ALLOWED, field="level")
    if display_name:
        text_require(display_name, kind="display_name", field="display_name", teen=teen)
    if personality:
        text_require(personality, kind="prompt", field="personality", teen=teen)
    if preferences:
        text_require(preferences, kind="prompt", field="preferences", teen=teen)
    cameo = _lock(cameo_id)
    fields = {"display_name": display_name, "personality": personality, "preferences": preferences}
    changed = [name for name, value in fields.items() if value is not None and getattr(cameo, name) != value]
    for name in changed:
        setattr(cameo, name, fields[name])
    old = cameo.level
    if level is not None and level != old:
        cameo.level = level
        changed.append("level")
    if changed:
        cameo.save(update_fields=[*changed, "updated_at"])
    if level is not None and "level" in changed:
        lowered = LEVEL_RANK[Cameo.Level(level)] < LEVEL_RANK[Cameo.Level(old)]
        if lowered:
            _withdraw(cameo)
        _tell_members("level_changed", cameo, actor_id=user_id, level=level, previous=old)
        logger.info(
            "cameos.level_changed", extra={"cameo_id": str(cameo.id), "level": level, "previous": old}
        )
    return cameo


@transaction.atomic
def cameo_restrictions_set(*, user_id: UUID, cameo_id: UUID, texts: Sequence[str], teen: bool) -> list[str]:
    """Replace the cameo's restrictions. Each is read by the text policy (kind cameo_restriction) and
    its topic embedded now, so a decision embeds only the prompt. The row lock serializes the change
    with drafts deciding consent: the next decision applies the new restrictions."""
    cameo_get_for_owner(user_id=user_id, cameo_id=cameo_id)
    cleaned = list(dict.fromkeys(t.strip() for t in texts if t.strip()))
    if len(cleaned) > MAX_RESTRICTIONS:
        raise KinoError(errors.TOO_MANY_RESTRICTIONS, field="restrictions")
    for text in cleaned:
        _restriction_check(text, teen=teen)
    vectors = restrictions_embed(cleaned)
    cameo = _lock(cameo_id)
    Restriction.objects.filter(cameo=cameo).delete()
    Restriction.objects.bulk_create(
        [
            Restriction(cameo=cameo, text=text, embedding=vector)
            for text, vector in zip(cleaned, vectors, strict=True)
        ]
    )
    Cameo.objects.filter(id=cameo.id).update(updated_at=timezone.now())
    logger.info("cameos.restrictions_set", extra={"cameo_id": str(cameo.id), "count": len(cleaned)})
    return cleaned


# A restriction names what the owner refuses ("no nudity", "no self-harm"): the policy's category
# classifier reads that as the content itself, so a negated restriction is held to the checks that
# still mean something when negated: public figures' names (a restriction is quoted back to others)
# and sexual content with minors (refused however it is worded).
RESTRICTION_ALWAYS_REFUSED = ("public_figure", "sexual_minors")


def _restriction_check(text: str, *, teen: bool) -> None:
    verdict = text_judge(text, kind="cameo_restriction", teen=teen)
    if verdict.allowed:
        return
    negated = restriction_topic(text) != text.strip().rstrip(".!")
    if negated and verdict.category not in RESTRICTION_ALWAYS_REFUSED:
        return
    text_require(text, kind="cameo_restriction", field="restrictions", teen=teen)  # audited, raises


def _reference_names(cameo_ids: Sequence[UUID]) -> list[str]:
    return [
        name
        for name in CameoReference.objects.filter(cameo_id__in=list(cameo_ids)).values_list(
            "image", flat=True
        )
        if name
    ]


def _erase(cameo: Cameo) -> None:
    """What a gone cameo must not keep: its likeness (embeddings, reference images)."""
    files_delete_on_commit(_reference_names([cameo.id]))
    CameoReference.objects.filter(cameo=cameo).delete()
    Restriction.objects.filter(cameo=cameo).delete()


@transaction.atomic
def cameo_delete(*, user_id: UUID, cameo_id: UUID, actor_id: UUID | None = None) -> None:
    """The owner deletes their cameo: consent withdrawn, jobs casting it stopped, likeness erased
    (embeddings nulled, reference files deleted once this commits). The row stays, `deleted`, so the
    usage log and the handle's history remain (the handle is free again)."""
    cameo_get_for_owner(user_id=user_id, cameo_id=cameo_id)
    cameo = _lock(cameo_id)
    _withdraw(cameo)
    # The owner's own event too: feed takes down every video casting the cameo on it (an "everyone"
    # cameo may have been cast by members who never asked).
    _event("deleted", cameo, actor_id=actor_id or user_id, recipient_id=cameo.owner_id)
    _tell_members("deleted", cameo, actor_id=actor_id or user_id)
    _erase(cameo)
    now = timezone.now()
    Cameo.objects.filter(id=cameo.id).update(
        state=Cameo.State.DELETED, deleted_at=now, face_embedding=None, voice_embedding=None, updated_at=now
    )
    logger.info("cameos.deleted", extra={"cameo_id": str(cameo.id)})


# --- moderation: suspension ------------------------------------------------------------------


@transaction.atomic
def cameo_suspend(*, cameo_id: UUID, moderator_id: UUID | None, reason: str = "") -> bool:
    """A moderator takes the cameo down: nobody may cast it, jobs casting it stop. Idempotent."""
    cameo = (
        Cameo.objects.select_for_update(of=("self",)).filter(id=cameo_id, state=Cameo.State.ACTIVE).first()
    )
    if cameo is None:
        return False
    Cameo.objects.filter(id=cameo.id).update(state=Cameo.State.SUSPENDED)
    cameo.state = Cameo.State.SUSPENDED
    _withdraw(cameo)
    _event("suspended", cameo, actor_id=None, recipient_id=cameo.owner_id, reason=reason)
    _tell_members("suspended", cameo, actor_id=None)
    logger.info("cameos.suspended", extra={"cameo_id": str(cameo.id), "moderator_id": str(moderator_id)})
    return True


@transaction.atomic
def cameo_restore(*, cameo_id: UUID, moderator_id: UUID | None) -> bool:
    """Active again, at the level it had (its approvals as they stood). Idempotent."""
    restored = Cameo.objects.filter(id=cameo_id, state=Cameo.State.SUSPENDED).update(
        state=Cameo.State.ACTIVE, updated_at=timezone.now()
    )
    logger.info("cameos.restored", extra={"cameo_id": str(cameo_id), "moderator_id": str(moderator_id)})
    return bool(restored)


# --- the owner gone: banned, deactivated, deleted ---------------------------------------------


def _owner_cameos_withdraw(owner_id: UUID) -> int:
    stopped = 0
    ids = list(
        Cameo.objects.filter(owner_id=owner_id)
        .exclude(state=Cameo.State.DELETED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    for cameo_id in ids:
        stopped += _withdraw(_lock(cameo_id))
    return stopped


def owner_work_stop(stop: WorkStop) -> int:
    """A WorkStopper: when a member's work stops because they were banned or deactivated, the jobs
    of others casting their cameos stop too. Other subjects (including the "cameo" stops this very
    function causes) are not its business; a member still active (a stop for another reason) keeps
    their cameos' consent."""
    if stop.subject != "user":
        return 0
    standing = member_standing(user_id=stop.subject_id)
    if standing is not None and standing.is_active:
        return 0
    return _owner_cameos_withdraw(stop.subject_id)


def owner_leaving(user_id: UUID) -> None:
    """A member deleting their account (inside the deletion, their row locked): jobs casting their
    cameos stop before the rows cascade away."""
    _owner_cameos_withdraw(user_id)


def owner_files(user_id: UUID) -> list[str]:
    """A deleted member's reference images (deleted once the deletion commits)."""
    return _reference_names(list(Cameo.objects.filter(owner_id=user_id).values_list("id", flat=True)))


# --- requests and approvals ------------------------------------------------------------------


def approval_request(*, user_id: UUID, cameo_id: UUID, message: str = "") -> tuple[Approval, bool]:
    """Ask to use a cameo one may see. Idempotent per member: asking again returns the standing
    request (created False). A revoked approval may be asked for again; a denied one may not (the
    owner can still approve it from their list)."""
    cameo = cameo_get_for_viewer(user_id=user_id, cameo_id=cameo_id)
    if cameo.owner_id == user_id or usable(cameo):
        raise KinoError(errors.APPROVAL_NOT_NEEDED)
    if message:
        text_require(message, kind="comment", field="message")
    with transaction.atomic():
        approval, created = _approval_get_or_create(cameo, user_id, message)
        if not created:
            if approval.state == Approval.State.DENIED:
                raise KinoError(errors.APPROVAL_STATE, "The owner declined this request.")
            if approval.state != Approval.State.REVOKED:
                return approval, False
            approval.state = Approval.State.REQUESTED
            approval.message = message
            approval.decided_at = None
            approval.save(update_fields=["state", "message", "decided_at", "updated_at"])
        _event("requested", cameo, actor_id=user_id, recipient_id=cameo.owner_id, approval_id=approval.id)
    logger.info("cameos.requested", extra={"cameo_id": str(cameo.id), "user_id": str(user_id)})
    return approval, True


def _approval_get_or_create(cameo: Cameo, user_id: UUID, message: str) -> tuple[Approval, bool]:
    """The unique constraint settles two requests racing: the loser reads the winner's row."""
    existing = Approval.objects.select_for_update().filter(cameo=cameo, user_id=user_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Approval.objects.create(cameo=cameo, user_id=user_id, message=message), True
    except IntegrityError:
        return Approval.objects.select_for_update().get(cameo=cameo, user_id=user_id), False


APPROVAL_MOVES: dict[str, tuple[set[str], str]] = {
    "approve": (
        {Approval.State.REQUESTED, Approval.State.DENIED, Approval.State.REVOKED},
        Approval.State.APPROVED,
    ),
    "deny": ({Approval.State.REQUESTED}, Approval.State.DENIED),
    "revoke": ({Approval.State.APPROVED}, Approval.State.REVOKED),
}
EVENT_OF_MOVE = {"approve": "approved", "deny": "denied", "revoke": "revoked"}


@transaction.atomic
def approval_decide(*, owner_id: UUID, cameo_id: UUID, approval_id: UUID, action: str) -> Approval:
    """The owner approves, denies or revokes a member's request. Revoking (and denying) bumps the
    consent version under the row lock; revoking stops the member's queued and running jobs casting it."""
    cameo_get_for_owner(user_id=owner_id, cameo_id=cameo_id)
    cameo = _lock(cameo_id)
    approval = Approval.objects.select_for_update().filter(cameo=cameo, id=approval_id).first()
    if approval is None:
        raise KinoError(errors.APPROVAL_NOT_FOUND)
    sources, target = APPROVAL_MOVES[action]
    if approval.state == target:
        return approval  # idempotent: asked twice
    if approval.state not in sources:
        raise KinoError(errors.APPROVAL_STATE)
    if action == "revoke":
        _withdraw(cameo, member_id=approval.user_id)
    approval.state = target
    approval.decided_at = timezone.now()
    approval.save(update_fields=["state", "decided_at", "updated_at"])
    _event(
        EVENT_OF_MOVE[action],
        cameo,
        actor_id=owner_id,
        recipient_id=approval.user_id,
        approval_id=approval.id,
    )
    logger.info(
        "cameos.approval_decided",
        extra={"cameo_id": str(cameo.id), "approval_id": str(approval.id), "state": target},
    )
    return approval


# --- the usage log ---------------------------------------------------------------------------


def cameo_uses_record(
    *,
    user_id: UUID,
    decisions: Sequence[ConsentDecision],
    stage: str,
    job_id: UUID | None = None,
    video_id: UUID | None = None,
    prompt: str = "",
) -> None:
    """One Use row per decision about an existing cameo (a handle not found for this member names no
    cameo: nothing to log). A draft made with the cameo tells its owner (not the owner's own uses);
    for an "everyone" cameo at most once per CAMEO_USE_NOTIFY_WINDOW_S."""
    if stage not in Use.Stage.values:
        raise ValueError(f"unknown use stage {stage!r}")
    logged = [d for d in decisions if d.cameo_id is not None]
    if not logged:
        return
    with transaction.atomic():
        Use.objects.bulk_create(
            [
                Use(
                    cameo_id=cameo_id,
                    user_id=user_id,
                    job_id=job_id,
                    video_id=video_id,
                    stage=stage,
                    allowed=d.allowed,
                    code=d.error.code if d.error else "",
                    prompt=prompt,
                )
                for d in logged
                if (cameo_id := d.cameo_id) is not None
            ]
        )
        if stage == Use.Stage.DRAFT and video_id is not None:
            for decision in logged:
                if decision.allowed and decision.owner_id != user_id:
                    _use_notify(decision, user_id=user_id, job_id=job_id, video_id=video_id, prompt=prompt)


def _use_notify(
    decision: ConsentDecision, *, user_id: UUID, job_id: UUID | None, video_id: UUID, prompt: str
) -> None:
    cameo = Cameo.objects.filter(id=decision.cameo_id).first() if decision.cameo_id else None
    if cameo is None:
        return
    count = 1
    if cameo.level == Cameo.Level.EVERYONE:
        # Windows aligned on the clock: the first use in a window tells the owner, with how many
        # uses there were since the previous window began (the ones it did not tell one by one).
        window = CAMEO_USE_NOTIFY_WINDOW_S
        now = timezone.now()
        start = datetime.fromtimestamp(now.timestamp() // window * window, tz=UTC)
        drafts = Use.objects.filter(
            cameo=cameo, stage=Use.Stage.DRAFT, allowed=True, video_id__isnull=False
        ).exclude(user_id=cameo.owner_id)
        if drafts.filter(created_at__gte=start).count() > 1:
            return
        count = drafts.filter(created_at__gte=start - timedelta(seconds=window)).count()
    _event(
        "used",
        cameo,
        actor_id=user_id,
        recipient_id=cameo.owner_id,
        job_id=job_id,
        video_id=video_id,
        prompt=prompt[:300],
        count=count,
    )
