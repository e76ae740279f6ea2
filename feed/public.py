"""What other apps may use of `feed`: these names and nothing else (import-linter holds it).

Plain values cross this line (`VideoRef`, `DraftReceipt`; media as `mediakit.EncodedClip`),
never model instances. The member's own writes (`post`, `like`, `comment`) are here for the demo
seeding in `generation` and answer nothing.
"""

from dataclasses import dataclass
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
    "PublicVideo",
    "VideoRef",
    "comment",
    "draft_create_for_job",
    "like",
    "notification_send",
    "post",
    "video_count",
    "video_file_read",
    "video_public_ref",
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


@dataclass(frozen=True)
class PublicVideo:
    """A post anyone may see, as its public share page shows it."""

    video_id: UUID
    username: str  # the creator's @handle, without the @
    caption: str
    share_path: str  # the share page, `/v/<id>` (make it absolute with config.api.site_url)


def video_public_ref(video_id: UUID) -> PublicVideo | None:
    """The video when anyone may see it (the share page's rule: posted, by an active member), else None:
    a draft, a removed or deleted video, a deactivated owner or an unknown id all read the same."""
    from django.urls import reverse

    from feed.share import _public_posts

    row = _public_posts().filter(id=video_id).values_list("owner__username", "caption").first()
    if row is None:
        return None
    share_path = reverse("share", kwargs={"video_id": video_id})
    return PublicVideo(video_id=video_id, username=row[0], caption=row[1], share_path=share_path)
