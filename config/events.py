"""Live events to a person's devices, over the WebSocket at /ws/.

Every event is one envelope, {"type": "<entity>.<what>", "data": {...}, "ts": "<ISO 8601>"},
sent to the group of one user. The Redis channel layer carries it to whichever
ASGI process holds that user's sockets.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def user_group(user_id: UUID | str) -> str:
    return f"user.{user_id}"


def event_envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "data": data, "ts": datetime.now(tz=UTC).isoformat()}


def _group_send(user_id: UUID | str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    async_to_sync(layer.group_send)(user_group(user_id), message)


def event_send(*, user_id: UUID | str, event_type: str, data: dict[str, Any]) -> None:
    _group_send(user_id, {"type": "kino.event", "event": event_envelope(event_type, data)})
    logger.debug("event.sent", extra={"user_id": str(user_id), "event_type": event_type})


def sockets_close_on_commit(*, user_id: UUID | str, reason: str) -> None:
    """Once the transaction commits, every socket of the user gets `session.closed` and closes with
    4403 (the account was deactivated or deleted); a broken layer is logged, never raised."""

    transaction.on_commit(
        partial(_group_send, user_id, {"type": "kino.close", "reason": reason}), robust=True
    )


def event_send_on_commit(*, user_id: UUID | str, event_type: str, data: dict[str, Any]) -> None:
    """Send once the surrounding transaction commits; a broken layer is logged, never raised."""
    transaction.on_commit(lambda: event_send(user_id=user_id, event_type=event_type, data=data), robust=True)
