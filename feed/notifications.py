"""Notifications: stored in groups (Mastodon 4.3's grouped notifications) and pushed on the WebSocket.

`notification_send` is the one way in. Likes, remixes and follows of one target fold into one
`NotificationGroup` (a count, the latest actors) while the group is younger than
FEED_NOTIFICATION_GROUP_WINDOW_S; every other type is a group of one. A burst of 1,000 likes is one
row to read, plus one row per actor for the full list. The recipient's preference for the type
decides (off: nothing is stored; in_app: stored; push: stored and sent live), and a block either way
suppresses it.

Reads hide, at read time, actors the recipient blocks or is blocked by (and deactivated ones): they
are left out of a group's latest actors and of its list of actors, and a group with no actor left to
show is hidden (a group without actors, such as a finished generation, always shows).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import Left
from django.utils import timezone

from accounts.public import block_partner_ids, blocked_either_way, members_for_viewer
from config.errors import KinoError
from config.events import event_send_on_commit
from feed import errors
from feed.models import Notification, NotificationGroup, NotificationPreference
from feed.selectors import videos_visible_to

logger = logging.getLogger(__name__)

Type = NotificationGroup.Type
Mode = NotificationPreference.Mode

GROUPED = frozenset({Type.LIKED, Type.REMIXED, Type.FOLLOWED})
LATEST_ACTORS = 3  # actors a group shows inline; the rest are behind /notifications/{group}/actors
CAPTION_EXCERPT = 100  # characters of a target video's caption in a notification


# --- sending ------------------------------------------------------------------------------------


def preference_of(*, user_id: UUID, type: str) -> str:
    mode = (
        NotificationPreference.objects.filter(user_id=user_id, type=type)
        .values_list("mode", flat=True)
        .first()
    )
    return mode or Mode.PUSH


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
    group_id = _group_for(recipient_id, type, target_kind, target_id, data or {})
    count = _actor_add(group_id, actor_id, data or {})
    if count is None:
        return group_id  # this actor is already in the group: not news twice
    if mode == Mode.PUSH:
        payload = {
            "id": str(group_id),
            "type": type,
            "count": count,
            "target": {"kind": target_kind, "id": str(target_id) if target_id else None}
            if target_kind
            else None,
            "actor_id": str(actor_id) if actor_id else None,
            "data": data or {},
        }
        event_send_on_commit(user_id=recipient_id, event_type="notification.created", data=payload)
    return group_id


def _group_for(
    recipient_id: UUID, type: str, target_kind: str, target_id: UUID | None, data: dict[str, Any]
) -> UUID:
    """The group this notification joins: for the grouped types, the target's open group (one started
    less than the window ago, however near a clock boundary) or a new one; else a group of its own.

    A new group's key names the window-sized slice of time it starts in, so concurrent first senders
    agree on it and the unique (recipient, key) settles them into one group."""
    key = f"{type}:{uuid.uuid4()}"
    opened_since: datetime | None = None
    if type in GROUPED:
        now = timezone.now()
        window_s = settings.FEED_NOTIFICATION_GROUP_WINDOW_S
        opened_since = now - timedelta(seconds=window_s)
        key = _open_group_key(recipient_id, type, target_kind, target_id, opened_since) or (
            f"{type}:{target_kind}:{target_id}:{int(now.timestamp() // window_s)}"
        )
    group_id = _group_upsert(recipient_id, type, key, target_kind, target_id, data, opened_since)
    if group_id is None:
        # That key's group closed already (a sender whose clock is behind, a window shortened since):
        # start one of its own rather than reopen it.
        key = f"{key}:{uuid.uuid4().hex}"
        group_id = _group_upsert(recipient_id, type, key, target_kind, target_id, data)
    assert group_id is not None, "a fresh key never conflicts"
    return group_id


def _open_group_key(
    recipient_id: UUID, type: str, target_kind: str, target_id: UUID | None, opened_since: datetime
) -> str | None:
    """The key of the target's group that is still open. A group open now was updated within the
    window too, so the recipient's page index bounds the search to their recent groups."""
    return (
        NotificationGroup.objects.filter(
            recipient_id=recipient_id,
            updated_at__gte=opened_since,
            created_at__gte=opened_since,
            type=type,
            target_kind=target_kind,
            target_id=target_id,
        )
        .order_by("-created_at")
        .values_list("group_key", flat=True)
        .first()
    )


def _group_upsert(
    recipient_id: UUID,
    type: str,
    key: str,
    target_kind: str,
    target_id: UUID | None,
    data: dict[str, Any],
    opened_since: datetime | None = None,
) -> UUID | None:
    """The group's id, created empty (count 0) when new. The no-op update makes RETURNING answer for a
    group that already exists, and locks it: concurrent senders to one group take turns. With
    `opened_since`, an existing group started before then is not joined (None)."""
    table = NotificationGroup._meta.db_table
    now = timezone.now()
    still_open = f"WHERE {table}.created_at >= %s" if opened_since is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (id, recipient_id, type, group_key, target_kind, target_id, count,
                    latest_actor_ids, data, created_at, updated_at, read_at)
                VALUES (%s, %s, %s, %s, %s, %s, 0, '{{}}', %s, %s, %s, NULL)
                ON CONFLICT (recipient_id, group_key) DO UPDATE SET group_key = EXCLUDED.group_key
                {still_open}
                RETURNING id""",  # noqa: S608 (table name from the model)
            [
                uuid.uuid4(),
                recipient_id,
                type,
                key,
                target_kind,
                target_id,
                _json(data),
                now,
                now,
                *([opened_since] if opened_since is not None else []),
            ],
        )
        row = cursor.fetchone()
    return row[0] if row is not None else None


def _actor_add(group_id: UUID, actor_id: UUID | None, data: dict[str, Any]) -> int | None:
    """Add the actor's part and count it: the group's count now, or None when the actor was already
    in the group. New activity makes the group unread again and moves it to the top."""
    notifications = Notification._meta.db_table
    groups = NotificationGroup._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {notifications} (group_id, actor_id, created_at) VALUES (%s, %s, %s)
                ON CONFLICT (group_id, actor_id) DO NOTHING RETURNING id""",  # noqa: S608
            [group_id, actor_id, timezone.now()],
        )
        if cursor.fetchone() is None:
            return None
        latest = "latest_actor_ids"
        if actor_id is not None:
            latest = f"(ARRAY[%s]::uuid[] || array_remove(latest_actor_ids, %s::uuid))[1:{LATEST_ACTORS}]"
        cursor.execute(
            f"""UPDATE {groups} SET count = count + 1, latest_actor_ids = {latest}, updated_at = %s,
                    read_at = NULL, data = %s WHERE id = %s RETURNING count""",  # noqa: S608
            [*([actor_id, actor_id] if actor_id is not None else []), timezone.now(), _json(data), group_id],
        )
        count: int = cursor.fetchone()[0]
    return count


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, default=str)


def follow_notify(follower_id: UUID, followee_id: UUID) -> None:
    """accounts' follow listener: a new follower, grouped with the others of the window."""
    notification_send(
        recipient_id=followee_id,
        type=Type.FOLLOWED,
        actor_id=follower_id,
        target_kind="user",
        target_id=followee_id,
    )


# --- reading ------------------------------------------------------------------------------------


def _visible_actors(*, viewer_id: UUID) -> QuerySet[Notification]:
    """Actors' parts the viewer may see: active members not blocked either way."""
    return Notification.objects.filter(actor__is_active=True).exclude(
        actor_id__in=block_partner_ids(user_id=viewer_id)
    )


def _groups_shown(*, recipient_id: UUID) -> QuerySet[NotificationGroup]:
    """The recipient's groups that have something to show (see the module's docstring)."""
    shown = Exists(_visible_actors(viewer_id=recipient_id).filter(group_id=OuterRef("id")))
    return NotificationGroup.objects.filter(recipient_id=recipient_id).filter(Q(latest_actor_ids=[]) | shown)


def notification_groups_for(
    *, recipient_id: UUID, types: Iterable[str] | None = None
) -> QuerySet[NotificationGroup]:
    """The recipient's groups that show, each with `target_caption`: its target video's caption
    excerpt, or None when the target is not a video the recipient may see (gone, removed, or its
    creator blocked either way)."""
    groups = _groups_shown(recipient_id=recipient_id)
    if types is not None:
        groups = groups.filter(type__in=list(types))
    video = (
        videos_visible_to(viewer_id=recipient_id)
        .filter(id=OuterRef("target_id"))
        .values(excerpt=Left("caption", CAPTION_EXCERPT))[:1]
    )
    return groups.annotate(target_caption=Case(When(target_kind="video", then=Subquery(video))))


def notification_group_get_for_recipient(*, recipient_id: UUID, group_id: UUID) -> NotificationGroup:
    """One of the recipient's groups that shows; 404 `notification_not_found` for anyone else's."""
    group = _groups_shown(recipient_id=recipient_id).filter(id=group_id).first()
    if group is None:
        raise KinoError(errors.NOTIFICATION_NOT_FOUND)
    return group


def latest_actors_attach(groups: list[NotificationGroup], *, viewer_id: UUID) -> None:
    """Set `latest_actors` on each group of a page (members, newest first, those hidden from the
    viewer left out): one query for the whole page."""
    wanted = {actor_id for group in groups for actor_id in group.latest_actor_ids}
    members = members_for_viewer(user_ids=wanted, viewer_id=viewer_id) if wanted else {}
    for group in groups:
        group.latest_actors = [members[i] for i in group.latest_actor_ids if i in members]  # type: ignore[attr-defined]


def notification_actors_of(*, group: NotificationGroup) -> QuerySet[Notification]:
    """Everyone who acted in the group, newest first, as its recipient may see them."""
    return (
        _visible_actors(viewer_id=group.recipient_id)
        .filter(group_id=group.id)
        .select_related("actor__profile")
    )


def notification_unread_count(*, recipient_id: UUID) -> int:
    """Unread groups that show: one query, over the partial index of unread groups."""
    return _groups_shown(recipient_id=recipient_id).filter(read_at__isnull=True).count()


# --- marking read, preferences ------------------------------------------------------------------


def notification_mark_read(*, recipient_id: UUID, group_id: UUID) -> None:
    """Mark one of the recipient's groups read (again harmless); 404 for anyone else's."""
    group = _groups_shown(recipient_id=recipient_id).filter(id=group_id)
    if not group.exists():
        raise KinoError(errors.NOTIFICATION_NOT_FOUND)
    group.filter(read_at__isnull=True).update(read_at=timezone.now())


def notifications_mark_all_read(*, recipient_id: UUID) -> int:
    """Mark every unread group that shows read; how many were marked."""
    unread = _groups_shown(recipient_id=recipient_id).filter(read_at__isnull=True)
    return NotificationGroup.objects.filter(id__in=unread.values("id")).update(read_at=timezone.now())


def notification_preferences_of(*, user_id: UUID) -> dict[str, str]:
    """Every type's mode for the member (push unless they chose otherwise)."""
    chosen = dict(NotificationPreference.objects.filter(user_id=user_id).values_list("type", "mode"))
    return {kind: chosen.get(kind, Mode.PUSH) for kind in Type.values}


@transaction.atomic
def notification_preferences_set(*, user_id: UUID, modes: dict[str, str]) -> dict[str, str]:
    """Set the modes of the types named (the others keep theirs); every type's mode afterwards."""
    NotificationPreference.objects.bulk_create(
        [NotificationPreference(user_id=user_id, type=kind, mode=mode) for kind, mode in modes.items()],
        update_conflicts=True,
        unique_fields=["user", "type"],
        update_fields=["mode"],
    )
    logger.info("notification.preferences_set", extra={"user_id": str(user_id), "types": sorted(modes)})
    return notification_preferences_of(user_id=user_id)
