"""Extension points of `cameos` that apps above it plug into (feed stores notifications).

Every change a cameo's owner or its would-be users should hear of (a request, an approval, a
denial, a revocation, a level change, a deletion, a suspension, a use) fires a `CameoEvent` to the
registered listeners inside the transaction that makes the change: a listener's writes commit or
roll back with it. `cameos` also sends a WebSocket event at once (on commit) through config.events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class CameoEvent:
    """Something that happened to a cameo, addressed to one person.

    requested: to the owner (actor: who asks). approved / denied / revoked: to the member asking
    (actor: the owner). level_changed / deleted / suspended: to each member with a standing approval
    or request (actor: the owner, or None for a moderator). used: to the owner (actor: who used it;
    data: job_id, video_id, prompt, count for a batched "everyone" cameo).
    """

    kind: str  # requested, approved, denied, revoked, level_changed, used, deleted, suspended
    cameo_id: UUID
    handle: str
    owner_id: UUID
    actor_id: UUID | None
    recipient_id: UUID
    data: dict[str, Any] = field(default_factory=dict)


CameoListener = Callable[[CameoEvent], None]
_listeners: list[CameoListener] = []


def cameo_listener_register(listener: CameoListener) -> CameoListener:
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def cameo_listener_unregister(listener: CameoListener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def cameo_listeners_run(event: CameoEvent) -> None:
    for listener in _listeners:
        listener(event)
