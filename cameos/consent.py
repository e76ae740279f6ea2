"""Consent decisions: may this member cast these cameos in this prompt?

One decision per cameo named, as a frozen `ConsentDecision` (the contract with generation, which
asks at the request, in the worker and before the draft). In order:
- more than MAX_CAMEOS cameos: every decision `too_many_cameos`;
- a cameo the member may not see (deleted, suspended, its owner inactive, blocked either way, a
  level that hides it): `cameo_not_found`, exactly as a handle nobody has;
- seen but not usable (the owner has not approved them, they are not mutuals): `cameo_permission_denied`
  (the owner's own suspended cameo too, with the reason);
- the prompt goes against one of the cameo's restrictions: `cameo_restriction`, the restriction
  quoted back. Restrictions bind other people only: they are what the owner asks of others, and
  the owner casting themselves is not "using" anyone's likeness.

A decision reads the database (two queries: the cameos with everything the rules need, then the
restrictions of the allowed ones) and embeds the prompt once when some restriction applies; nothing
is cached, so a changed level, approval or restriction applies to the very next decision.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.db import connection

from cameos import errors
from cameos.models import Cameo
from cameos.restrictions import PromptView, restriction_broken
from cameos.selectors import ConsentRow, consent_rows, handle_normalize, restrictions_of
from config.errors import ErrorCode, KinoError

MAX_CAMEOS = 2
# A handle as prompts name it: `@` then the username's letters (accounts: a-z, 0-9, _ and .), not
# inside an email address.
HANDLE_RE = re.compile(r"(?<![\w.@])@([a-z0-9_](?:[a-z0-9_.]{0,28}[a-z0-9_])?)", re.IGNORECASE)


@dataclass(frozen=True)
class CameoCast:
    """One consented cameo: what generation and its engines need."""

    cameo_id: UUID
    handle: str
    owner_id: UUID
    kind: str  # "person" | "character"
    display_name: str
    personality: str  # characters: one line the engine receives with the prompt
    preferences: str  # "always wearing a red cap": goes to the engine with the prompt
    consent_version: int  # the version consented to; a revocation bumps it


@dataclass(frozen=True)
class ConsentDecision:
    """One per cameo named."""

    handle: str
    cameo_id: UUID | None  # None: not found *for this user* (404 semantics)
    owner_id: UUID | None
    allowed: bool
    error: ErrorCode | None  # CAMEO_NOT_FOUND / CAMEO_PERMISSION_DENIED / CAMEO_RESTRICTION / ...
    restriction: str = ""  # cameo_restriction: the restriction, quoted back
    cast: CameoCast | None = None


def cameo_handles_in_prompt(prompt: str) -> tuple[str, ...]:
    """The @handles of `prompt` in order of first mention, lowercased, each once."""
    seen: dict[str, None] = {}
    for match in HANDLE_RE.finditer(prompt):
        seen.setdefault(match.group(1).lower().rstrip("."), None)
    return tuple(seen)


def _normalized(handles: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for handle in handles:
        name = handle_normalize(handle)
        if name:
            seen.setdefault(name, None)
    return list(seen)


def _lock_rows(handles: list[str]) -> None:
    """FOR SHARE on the named live cameos' rows, in id order (a revocation takes FOR UPDATE on the
    row, so it waits for this transaction, or this one reads what it committed). Django has no FOR
    SHARE, hence SQL."""
    if not connection.in_atomic_block:
        raise RuntimeError("consent_decide(lock=True) belongs inside a transaction")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM cameos_cameo WHERE lower(handle) = ANY(%s) AND state <> %s ORDER BY id FOR SHARE",
            [handles, Cameo.State.DELETED],
        )


def _cast(cameo: ConsentRow) -> CameoCast:
    return CameoCast(
        cameo_id=cameo.id,
        handle=cameo.handle,
        owner_id=cameo.owner_id,
        kind=cameo.kind,
        display_name=cameo.display_name,
        personality=cameo.personality,
        preferences=cameo.preferences,
        consent_version=cameo.consent_version,
    )


def _refused(
    handle: str, error: ErrorCode, cameo: ConsentRow | None = None, restriction: str = ""
) -> ConsentDecision:
    return ConsentDecision(
        handle=handle,
        cameo_id=cameo.id if cameo else None,
        owner_id=cameo.owner_id if cameo else None,
        allowed=False,
        error=error,
        restriction=restriction,
    )


def _permission(handle: str, cameo: ConsentRow | None) -> ConsentDecision:
    """The decision before restrictions: found and usable, or why not."""
    if cameo is None:
        return _refused(handle, errors.CAMEO_NOT_FOUND)
    if not cameo.can_use:
        return _refused(handle, errors.CAMEO_PERMISSION_DENIED, cameo)
    return ConsentDecision(
        handle=handle, cameo_id=cameo.id, owner_id=cameo.owner_id, allowed=True, error=None, cast=_cast(cameo)
    )


def consent_decide(
    *, user_id: UUID, handles: Sequence[str], prompt: str, teen: bool, lock: bool = False
) -> tuple[ConsentDecision, ...]:
    """One decision per (unique, lowercased) handle, in order; a pure read. `lock=True` (inside an
    atomic block) takes FOR SHARE on the cameo rows, serializing with revocations."""
    names = _normalized(handles)
    if len(names) > MAX_CAMEOS:
        return tuple(_refused(name, errors.TOO_MANY_CAMEOS) for name in names)
    if not names:
        return ()
    if lock:
        _lock_rows(names)
    found = {row.handle.lower(): row for row in consent_rows(user_id=user_id, handles=names)}
    decisions = [_permission(name, found.get(name)) for name in names]
    return tuple(_restrictions_apply(decisions, found, user_id=user_id, prompt=prompt, teen=teen))


def _restrictions_apply(
    decisions: list[ConsentDecision], found: dict[str, ConsentRow], *, user_id: UUID, prompt: str, teen: bool
) -> list[ConsentDecision]:
    others = [d.cameo_id for d in decisions if d.cameo_id and d.allowed and d.owner_id != user_id]
    if not others:
        return decisions
    by_cameo = restrictions_of(cameo_ids=others)
    if not by_cameo:
        return decisions
    view = PromptView.of(prompt, teen=teen)
    out = []
    for decision in decisions:
        broken = restriction_broken(view, by_cameo.get(decision.cameo_id, [])) if decision.cameo_id else None
        if broken is None:
            out.append(decision)
        else:
            out.append(_refused(decision.handle, errors.CAMEO_RESTRICTION, found[decision.handle], broken))
    return out


def consent_error(decision: ConsentDecision) -> KinoError:
    assert decision.error is not None
    if decision.error is errors.CAMEO_RESTRICTION:
        message = f'@{decision.handle}: the prompt goes against the restriction "{decision.restriction}".'
    else:
        message = f"@{decision.handle}: {decision.error.message}"
    return KinoError(decision.error, message, field="cameos")


def consent_require(
    *, user_id: UUID, handles: Sequence[str], prompt: str, teen: bool
) -> tuple[CameoCast, ...]:
    """The casts of every cameo named, or KinoError for the first refusal (field "cameos")."""
    decisions = consent_decide(user_id=user_id, handles=handles, prompt=prompt, teen=teen)
    for decision in decisions:
        if not decision.allowed:
            raise consent_error(decision)
    return tuple(d.cast for d in decisions if d.cast is not None)
