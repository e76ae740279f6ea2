"""Notifications: stored in groups (Mastodon 4.3's grouped notifications) and pushed on the WebSocket.

`notification_send` is the one way in. Likes, remixes and follows of one target within
FEED_NOTIFICATION_GROUP_WINDOW_S fold into one `NotificationGroup` (a count, the latest actors);
every other type is a group of one. A burst of 1,000 likes is one row to read, plus one row per
actor for the full list. The recipient's preference for the type decides (off: nothing is stored;
in_app: stored; push: stored and sent live), and a block either way suppresses it.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.public import blocked_either_way
from config.events import event_send_on_commit
from feed.models import Notification, NotificationGroup, NotificationPreference

logger = logging.getLogger(__name__)

Type = NotificationGroup.Type
Mode = NotificationPreference.Mode

GROUPED = frozenset({Type.LIKED, Type.REMIXED, Type.FOLLOWED})
LATEST_ACTORS = 3  # actors a group shows inline; the rest are behind /notifications/{group}/actors


def preference_of(*, user_id: UUID, type: str) -> str:
    mode = (
        NotificationPreference.objects.filter(user_id=user_id, type=type)
        .values_list("mode", flat=True)
        .first()
    )
    return mode or Mode.PUSH


def group_key_for(*, type: str, target_kind: str, target_id: UUID | None) -> str:
    if type not in GROUPED:
        return f"{type}:{uuid.uuid4()}"
    window = int(timezone.now().timestamp() // settings.FEED_NOTIFICATION_GROUP_WINDOW_S)
    return f"{type}:{target_kind}:{target_id}:{window}"


def notification_send(
    *,
    recipient_id: UUID,
    type: str,
    actor_id: UUID | None = None,
    target_kind: str = "",
    target_id: UUID | None = None,
    data: dict[str, Any] | None = None,
) -> UUID | None:
    """Store (and push) one notification inside the caller's transaction; the group's id, or None when
    nothing was stored (the recipient is the actor, turned the type off, or a block stands between)."""
    if actor_id is not None and (
        actor_id == recipient_id or blocked_either_way(a_id=actor_id, b_id=recipient_id)
    ):
        return None
    mode = preference_of(user_id=recipient_id, type=type)
    if mode == Mode.OFF:
        return None
    key = group_key_for(type=type, target_kind=target_kind, target_id=target_id)
    group_id = _group_upsert(recipient_id, type, key, target_kind, target_id, data or {})
    if not _actor_add(group_id, actor_id, data or {}):
        return group_id  # this actor is already in the group: not news twice
    if mode == Mode.PUSH:
        payload = {
            "id": str(group_id),
            "type": type,
            "target": {"kind": target_kind, "id": str(target_id) if target_id else None},
            "actor_id": str(actor_id) if actor_id else None,
            "data": data or {},
        }
        event_send_on_commit(user_id=recipient_id, event_type="notification.created", data=payload)
    return group_id


def _group_upsert(
    recipient_id: UUID, type: str, key: str, target_kind: str, target_id: UUID | None, data: dict[str, Any]
) -> UUID:
    """The group's id, created empty (count 0) when new. The no-op update makes RETURNING answer for a
    group that already exists, and locks it: concurrent senders to one group take turns."""
    table = NotificationGroup._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (id, recipient_id, type, group_key, target_kind, target_id, count,
                    latest_actor_ids, data, created_at, updated_at, read_at)
                VALUES (%s, %s, %s, %s, %s, %s, 0, '{{}}', %s, %s, %s, NULL)
                ON CONFLICT (recipient_id, group_key) DO UPDATE SET group_key = EXCLUDED.group_key
                RETURNING id""",  # noqa: S608 (table name from the model)
            [uuid.uuid4(), recipient_id, type, key, target_kind, target_id, _json(data), now, now],
        )
        return cursor.fetchone()[0]


def _actor_add(group_id: UUID, actor_id: UUID | None, data: dict[str, Any]) -> bool:
    """Add the actor's part and count it; False when the actor was already in the group."""
    notifications = Notification._meta.db_table
    groups = NotificationGroup._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {notifications} (group_id, actor_id, created_at) VALUES (%s, %s, %s)
                ON CONFLICT (group_id, actor_id) DO NOTHING RETURNING id""",  # noqa: S608
            [group_id, actor_id, timezone.now()],
        )
        if cursor.fetchone() is None:
            return False
        latest = "latest_actor_ids"
        if actor_id is not None:
            latest = f"(ARRAY[%s]::uuid[] || array_remove(latest_actor_ids, %s::uuid))[1:{LATEST_ACTORS}]"
        cursor.execute(
            f"""UPDATE {groups} SET count = count + 1, latest_actor_ids = {latest}, updated_at = %s,
                    read_at = NULL, data = %s WHERE id = %s""",  # noqa: S608
            [*([actor_id, actor_id] if actor_id is not None else []), timezone.now(), _json(data), group_id],
        )
    return True


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, default=str)


def follow_notify(follower_id: UUID, followee_id: UUID) -> None:
    """accounts' follow listener: a new follower, grouped with the others of the day."""
    notification_send(
        recipient_id=followee_id,
        type=Type.FOLLOWED,
        actor_id=follower_id,
        target_kind="user",
        target_id=followee_id,
    )
