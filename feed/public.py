"""What other apps may use of `feed`: these names and nothing else (import-linter holds it).

Plain values cross this line (`VideoRef`, `DraftReceipt`; media as `mediakit.EncodedClip`),
never model instances.
"""

from feed.errors import REMIX_NOT_ALLOWED, REMIX_OF_DRAFT, VIDEO_NOT_FOUND
from feed.notifications import notification_send
from feed.selectors import VideoRef, video_ref_for_remix, video_ref_for_viewer
from feed.services import DraftReceipt, draft_create_for_job

__all__ = [
    "REMIX_NOT_ALLOWED",
    "REMIX_OF_DRAFT",
    "VIDEO_NOT_FOUND",
    "DraftReceipt",
    "VideoRef",
    "draft_create_for_job",
    "notification_send",
    "video_ref_for_remix",
    "video_ref_for_viewer",
]
