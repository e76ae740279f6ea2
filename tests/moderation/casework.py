"""Helpers of the cases tests (reports, decisions, appeals): moderators, reports through the API,
and claim-then-decide as the admin does it."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import Permission

from config.events import user_group
from feed.models import NotificationGroup
from moderation.decisions import decision_make
from moderation.models import Decision, QueueItem
from moderation.queue import item_claim
from tests.factories import UserFactory

REASON_TEXT = "The clip shows a real person being hurt; that is not allowed here."


def moderator(**kwargs: Any) -> Any:
    """A staff member who may claim and decide queue items."""
    user = UserFactory(is_staff=True, **kwargs)
    user.user_permissions.add(Permission.objects.get(codename="claim_queueitem"))
    return type(user).objects.get(id=user.id)  # a fresh instance: Django caches permissions per object


def report(client: Any, kind: str, subject_id: Any, reason: str = "violence", text: str = "") -> Any:
    return client.post(
        "/api/v1/reports",
        {"subject_kind": kind, "subject_id": str(subject_id), "reason": reason, "text": text},
        format="json",
    )


def open_item(kind: str, subject_id: Any) -> QueueItem:
    return QueueItem.objects.get(
        kind=QueueItem.Kind.REPORT, subject_kind=kind, subject_id=subject_id, state__in=["open", "claimed"]
    )


def decide(
    item: QueueItem, by: Any, action: str, reason_code: str = "graphic_violence", **kwargs: Any
) -> Decision:
    """Claim the item and decide it, as the admin's decision form does."""
    item_claim(item_id=item.id, moderator=by)
    return decision_make(
        item_id=item.id,
        moderator=by,
        action=action,
        reason_code=reason_code,
        reason_text=REASON_TEXT,
        **kwargs,
    )


def moderation_notices(user: Any) -> list[dict[str, Any]]:
    """The member's stored MODERATION notifications' data, oldest first."""
    groups = NotificationGroup.objects.filter(recipient=user, type=NotificationGroup.Type.MODERATION)
    return [group.data for group in groups.order_by("created_at")]


def hear(user_id: Any):
    """Start hearing everything sent to the member's sockets (events and closes); the result drains it."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(user_id), channel)

    async def drain() -> list[dict[str, Any]]:
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
            except TimeoutError:
                return messages

    return lambda: async_to_sync(drain)()


def events_of(messages: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [
        m["event"]["data"]
        for m in messages
        if m.get("type") == "kino.event" and m["event"]["type"] == event_type
    ]


def a_decision_about(owner: Any) -> Decision:
    """A moderator's appealable decision about one of the owner's posts (a label: the post stays),
    made as rows: for the sweeps over every API operation (access, query counts, security)."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import PostFactory

    post = PostFactory(owner=owner)
    item = QueueItem.objects.create(
        subject_kind="video", subject_id=post.id, subject_owner_id=owner.id, state=QueueItem.State.DECIDED
    )
    return Decision.objects.create(
        item=item,
        action=Decision.Action.LABEL,
        labels=["warn"],
        reason_code="other_policy",
        reason_text="Shown behind a warning.",
        subject_kind="video",
        subject_id=post.id,
        affected_user_id=owner.id,
        appealable_until=timezone.now() + timedelta(days=1),
    )
