"""Reads of the feed app; every lookup by a client-supplied id is scoped to what the viewer may see."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db.models import QuerySet

from config.errors import KinoError
from feed import errors
from feed.models import Video


@dataclass(frozen=True)
class VideoRef:
    """What other apps may know of a video they were allowed to name."""

    video_id: UUID
    owner_id: UUID
    state: str


def videos_visible_to(*, viewer_id: UUID) -> QuerySet[Video]:
    """Drafts are seen only by their owner (cameo owners join in with the cameos issue)."""
    return Video.objects.filter(owner_id=viewer_id).exclude(state=Video.State.REMOVED)


def video_get_for_viewer(*, viewer_id: UUID, video_id: UUID) -> Video:
    video = videos_visible_to(viewer_id=viewer_id).filter(id=video_id).first()
    if video is None:
        raise KinoError(errors.VIDEO_NOT_FOUND)
    return video


def video_ref_for_viewer(*, viewer_id: UUID, video_id: UUID) -> VideoRef:
    """A video `viewer_id` may see, as plain values; 404 `video_not_found` otherwise."""
    video = video_get_for_viewer(viewer_id=viewer_id, video_id=video_id)
    return VideoRef(video_id=video.id, owner_id=video.owner_id, state=video.state)


def member_video_files(owner_id: UUID) -> list[str]:
    """Every file stored for the member's videos (their MP4s and posters)."""
    names = Video.objects.filter(owner_id=owner_id).values_list("video", "poster")
    return [name for pair in names for name in pair if name]


def drafts_of(*, owner_id: UUID) -> QuerySet[Video]:
    return Video.objects.filter(owner_id=owner_id, state=Video.State.DRAFT)
