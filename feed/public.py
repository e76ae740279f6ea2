"""What other apps may use of `feed`: these names and nothing else (import-linter holds it).

Plain values cross this line (`VideoRef`, `DraftReceipt`; media as `mediakit.EncodedClip`),
never model instances. The member's own writes (`post`, `like`, `comment`) are here for the demo
seeding in `generation` and answer nothing.
"""

from uuid import UUID

from feed import reactions, services
from feed.errors import REMIX_NOT_ALLOWED, REMIX_OF_DRAFT, VIDEO_NOT_FOUND
from feed.notifications import notification_send
from feed.selectors import VideoRef, video_count, video_ref_for_remix, video_ref_for_viewer
from feed.services import DraftReceipt, draft_create_for_job

__all__ = [
    "REMIX_NOT_ALLOWED",
    "REMIX_OF_DRAFT",
    "VIDEO_NOT_FOUND",
    "DraftReceipt",
    "VideoRef",
    "comment",
    "draft_create_for_job",
    "like",
    "notification_send",
    "post",
    "video_count",
    "video_file_read",
    "video_ref_for_remix",
    "video_ref_for_viewer",
]


def post(*, owner_id: UUID, video_id: UUID, caption: str = "") -> None:
    """The owner posts a draft (see `feed.services.video_post`)."""
    services.video_post(owner_id=owner_id, video_id=video_id, caption=caption)


def like(*, actor_id: UUID, video_id: UUID) -> None:
    reactions.like_create(actor_id=actor_id, video_id=video_id)


def comment(*, actor_id: UUID, video_id: UUID, body: str) -> None:
    reactions.comment_create(actor_id=actor_id, video_id=video_id, body=body)


def video_file_read(video_id: UUID) -> bytes | None:
    """The video's stored MP4 (any state: provenance compares a copy with drafts and removed posts
    too, and never shows the file), or None when it has none."""
    from django.core.files.storage import default_storage

    from feed.models import Video

    name = Video.objects.filter(id=video_id).values_list("video", flat=True).first()
    if not name:
        return None
    try:
        with default_storage.open(name, "rb") as handle:
            return bytes(handle.read())
    except OSError:
        return None
