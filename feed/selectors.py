"""Reads of the feed app; every lookup by a client-supplied id is scoped to what the viewer may see."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from config.errors import NotFoundError
from feed.models import Video


def videos_visible_to(*, actor: Any) -> QuerySet[Video]:
    """Drafts are seen only by their owner (cameo owners join in with the cameos issue)."""
    return Video.objects.filter(owner=actor).exclude(state=Video.State.REMOVED)


def video_get_for_viewer(*, actor: Any, video_id: UUID) -> Video:
    video = videos_visible_to(actor=actor).filter(id=video_id).first()
    if video is None:
        raise NotFoundError("No such video.", code="video_not_found")
    return video


def drafts_of(*, user: Any) -> QuerySet[Video]:
    return Video.objects.filter(owner=user, state=Video.State.DRAFT)
