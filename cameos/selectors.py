"""Reads of the cameos app. Who may see and who may use a cameo is decided here, inside the query.

Visibility (`cameos_visible_to`), for a member other than the owner: the cameo is active, its owner
active, neither blocked the other, and its level lets them see it:
- only_me: nobody;
- approved: every member (so they can ask to use it);
- mutuals: mutual followers, and members whose approval still stands (the levels widen in order:
  only me < people I approve < mutuals < everyone, so widening keeps approvals);
- everyone: every member.
The owner always sees their cameo unless it is deleted (a suspended one too: they read why).
What one may not see answers 404 `cameo_not_found`, exactly as what does not exist.

Use (`can_use` annotation): the owner while it is active; others: everyone, mutuals (mutual or
approved), approved (approved).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    BinaryField,
    BooleanField,
    Case,
    Exists,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Lower

from accounts.public import MemberTextKind, Refusal, block_partner_ids
from cameos import errors
from cameos.models import Approval, Cameo, CameoReference, Restriction, Use
from config.errors import KinoError

LEVEL_RANK = {
    Cameo.Level.ONLY_ME: 0,
    Cameo.Level.APPROVED: 1,
    Cameo.Level.MUTUALS: 2,
    Cameo.Level.EVERYONE: 3,
}


def handle_normalize(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


def cameos_annotated(*, user_id: UUID) -> QuerySet[Cameo]:
    """Live cameos, each with `is_owner`, `is_mutual`, `approval_state` (the member's request, or
    None) and `can_use` for `user_id`; not yet filtered by visibility."""
    users = get_user_model().objects
    mutual = Exists(users.filter(id=OuterRef("owner_id"), following_edges__followee_id=user_id)) & Exists(
        users.filter(id=OuterRef("owner_id"), follower_edges__follower_id=user_id)
    )
    approval = Approval.objects.filter(cameo=OuterRef("pk"), user_id=user_id)
    approved = Q(approval_state=Approval.State.APPROVED)
    return (
        Cameo.objects.exclude(state=Cameo.State.DELETED)
        .annotate(
            is_owner=Case(When(owner_id=user_id, then=Value(True)), default=Value(False)),
            is_mutual=Case(When(mutual, then=Value(True)), default=Value(False), output_field=BooleanField()),
            approval_state=Subquery(approval.values("state")[:1]),
            approval_id=Subquery(approval.values("id")[:1]),
        )
        .annotate(
            can_use=Case(
                When(~Q(state=Cameo.State.ACTIVE) | Q(owner__is_active=False), then=Value(False)),
                When(is_owner=True, then=Value(True)),
                When(level=Cameo.Level.EVERYONE, then=Value(True)),
                When(Q(level=Cameo.Level.MUTUALS) & (Q(is_mutual=True) | approved), then=Value(True)),
                When(Q(level=Cameo.Level.APPROVED) & approved, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
    )


def visible_q(*, user_id: UUID) -> Q:
    """Visibility for `user_id` over `cameos_annotated(user_id=…)` (see the module's docstring)."""
    others = (
        Q(state=Cameo.State.ACTIVE, owner__is_active=True)
        & ~Q(owner_id__in=block_partner_ids(user_id=user_id))
        & (
            Q(level__in=[Cameo.Level.EVERYONE, Cameo.Level.APPROVED])
            | Q(level=Cameo.Level.MUTUALS, is_mutual=True)
            | Q(level=Cameo.Level.MUTUALS, approval_state=Approval.State.APPROVED)
        )
    )
    return Q(owner_id=user_id) | others


def usable(cameo: Cameo) -> bool:
    """The `can_use` annotation of a cameo from `cameos_annotated`."""
    return bool(getattr(cameo, "can_use", False))


def cameos_visible_to(*, user_id: UUID) -> QuerySet[Cameo]:
    return cameos_annotated(user_id=user_id).filter(visible_q(user_id=user_id)).select_related("owner")


@dataclass(frozen=True)
class ConsentRow:
    """What a consent decision reads of a cameo the member may see (`can_use` as `cameos_annotated`
    has it)."""

    id: UUID
    owner_id: UUID
    handle: str
    kind: str
    display_name: str
    personality: str
    preferences: str
    consent_version: int
    can_use: bool


CONSENT_FIELDS = tuple(ConsentRow.__dataclass_fields__)


def consent_rows(*, user_id: UUID, handles: Sequence[str]) -> list[ConsentRow]:
    """The cameos of `handles` (normalized: lowercase, each once) that `user_id` may see, in one
    query: `cameos_visible_to`'s, run from a statement compiled once per process and number of
    handles (see `_consent_statement`)."""
    if not handles:
        return []
    sql, params = _consent_statement(len(handles))
    binding: dict[Any, Any] = {
        _MEMBER: user_id,
        **dict(zip(_handle_slots(len(handles)), handles, strict=True)),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, [binding.get(p, p) if isinstance(p, str | UUID) else p for p in params])
        return [ConsentRow(*row) for row in cursor.fetchall()]


# Stand-ins for the member and the handles in the compiled statement; no real value can equal them
# (a random UUID, and text no handle can hold).
_MEMBER = uuid.uuid4()


def _handle_slots(count: int) -> list[str]:
    return [f"\x00handle {i} {_MEMBER}" for i in range(count)]


@lru_cache(maxsize=8)
def _consent_statement(count: int) -> tuple[str, tuple[Any, ...]]:
    """SQL and parameters (with the stand-ins) of the consent query for `count` handles. Django takes
    about 5 ms to compile the annotated visibility query, a quarter of a request's consent budget
    (issue 23: 20 ms at p99), and the statement's text depends on nothing but the number of handles;
    the member and the handles are parameters, bound afresh for every decision, so nothing read from
    the database is kept."""
    slots = _handle_slots(count)
    query = (
        cameos_visible_to(user_id=_MEMBER)
        .annotate(lower=Lower("handle"))
        .filter(lower__in=slots)
        .order_by()
        .values_list(*CONSENT_FIELDS)
        .query
    )
    sql, params = query.sql_with_params()
    if _MEMBER not in params or any(params.count(slot) != 1 for slot in slots):
        raise RuntimeError("the consent statement lost its parameters")
    return sql, tuple(params)


@dataclass(frozen=True)
class RestrictionRow:
    text: str
    embedding: np.ndarray  # the topic's vector (float32, 384)


def restrictions_of(*, cameo_ids: Sequence[UUID]) -> dict[UUID, list[RestrictionRow]]:
    """The restrictions of these cameos, in order, by cameo. The vectors travel in pgvector's binary
    form (`vector_send`: two 16-bit words, then big-endian float32s): parsing their text costs a
    decision about 0.1 ms per restriction."""
    rows = (
        Restriction.objects.filter(cameo_id__in=list(cameo_ids))
        .annotate(vector=Func("embedding", function="vector_send", output_field=BinaryField()))
        .values_list("cameo_id", "text", "vector")
    )
    by_cameo: dict[UUID, list[RestrictionRow]] = {}
    for cameo_id, text, vector in rows:
        embedding = np.frombuffer(vector, ">f4", offset=4).astype(np.float32)
        by_cameo.setdefault(cameo_id, []).append(RestrictionRow(text, embedding))
    return by_cameo


def cameos_usable_by(*, user_id: UUID) -> QuerySet[Cameo]:
    return cameos_visible_to(user_id=user_id).filter(Q(can_use=True))


def cameos_of_owner(*, user_id: UUID) -> QuerySet[Cameo]:
    return cameos_visible_to(user_id=user_id).filter(owner_id=user_id)


def cameo_get_for_viewer(*, user_id: UUID, cameo_id: UUID) -> Cameo:
    """The cameo as `user_id` may see it, or 404 `cameo_not_found`."""
    cameo = cameos_visible_to(user_id=user_id).filter(id=cameo_id).first()
    if cameo is None:
        raise KinoError(errors.CAMEO_NOT_FOUND)
    return cameo


def cameo_get_by_handle_for_viewer(*, user_id: UUID, handle: str) -> Cameo:
    cameo = (
        cameos_visible_to(user_id=user_id)
        .annotate(handle_lower=Lower("handle"))
        .filter(handle_lower=handle_normalize(handle))
        .first()
    )
    if cameo is None:
        raise KinoError(errors.CAMEO_NOT_FOUND)
    return cameo


def cameo_get_for_owner(*, user_id: UUID, cameo_id: UUID) -> Cameo:
    """The owner's own cameo (any state but deleted), or 404 for everyone else."""
    cameo = cameos_of_owner(user_id=user_id).filter(id=cameo_id).first()
    if cameo is None:
        raise KinoError(errors.CAMEO_NOT_FOUND)
    return cameo


def approvals_of_cameo(*, cameo: Cameo | UUID, state: str | None = None) -> QuerySet[Approval]:
    approvals = Approval.objects.filter(cameo=cameo).select_related("user__profile")
    return approvals.filter(state=state) if state else approvals


def approvals_of_member(*, user_id: UUID) -> QuerySet[Approval]:
    """The member's outgoing requests, on cameos they may still see."""
    visible = cameos_visible_to(user_id=user_id).values("id")
    return (
        Approval.objects.filter(user_id=user_id, cameo_id__in=visible)
        .select_related("cameo__owner__profile")
        .order_by("-updated_at", "-id")
    )


def uses_of_cameo(*, cameo: Cameo) -> QuerySet[Use]:
    return Use.objects.filter(cameo=cameo).select_related("user__profile")


# --- for other apps (cameos.public) -----------------------------------------------------------


def cameo_owner_of(*, cameo_id: UUID) -> UUID | None:
    """The owner of a live (not deleted) cameo, for feed's oversight."""
    return (
        Cameo.objects.exclude(state=Cameo.State.DELETED)
        .filter(id=cameo_id)
        .values_list("owner_id", flat=True)
        .first()
    )


def cameo_handles(*, cameo_ids: Sequence[UUID]) -> dict[UUID, str]:
    """The handles of the live (not deleted) cameos among `cameo_ids`: how a clip made from another
    (an extension, a stitch) names the cast it carries over, to ask consent for it again."""
    rows = Cameo.objects.exclude(state=Cameo.State.DELETED).filter(id__in=list(cameo_ids))
    return dict(rows.values_list("id", "handle"))


def cameo_references(*, cameo_id: UUID, limit: int | None = None) -> list[np.ndarray]:
    """The cameo's first `limit` reference images (all by default; uint8 RGB), in order; none for a
    cameo that is not active."""
    from PIL import Image

    refs = CameoReference.objects.filter(cameo_id=cameo_id, cameo__state=Cameo.State.ACTIVE)
    images = []
    for ref in refs.order_by("position")[:limit]:
        with ref.image.open("rb") as f, Image.open(f) as img:
            images.append(np.asarray(img.convert("RGB"), dtype=np.uint8))
    return images


def cameo_face_embeddings(*, cameo_ids: Sequence[UUID]) -> dict[UUID, np.ndarray]:
    """Face embeddings (128-d float32) of the given live cameos that have one."""
    rows = (
        Cameo.objects.filter(id__in=list(cameo_ids), face_embedding__isnull=False)
        .exclude(state=Cameo.State.DELETED)
        .values_list("id", "face_embedding")
    )
    return {cameo_id: np.asarray(vector, dtype=np.float32) for cameo_id, vector in rows}


def cameo_counts(*, cameo_ids: Sequence[UUID]) -> dict[UUID, dict[str, int]]:
    """Per cameo: approvals by state, and uses allowed (one query)."""
    from django.db.models import Count

    counts: dict[UUID, dict[str, int]] = {cid: {} for cid in cameo_ids}
    rows = (
        Approval.objects.filter(cameo_id__in=list(cameo_ids))
        .values("cameo_id", "state")
        .annotate(n=Count("id"))
        .values_list("cameo_id", "state", "n")
    )
    for cameo_id, state, n in rows:
        counts[cameo_id][state] = n
    return counts


def username_check(text: str, kind: MemberTextKind) -> Refusal | None:
    """Usernames and character handles share one namespace (prompts name both by `@handle`): a new
    username may not be a live character's handle. Registered into accounts' member text checks."""
    if kind != "username":
        return None
    taken = Cameo.objects.filter(kind=Cameo.Kind.CHARACTER, handle__iexact=text.strip()).exclude(
        state=Cameo.State.DELETED
    )
    return (
        Refusal(errors.HANDLE_TAKEN, "This username is a character cameo's handle.")
        if taken.exists()
        else None
    )
