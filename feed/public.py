"""What other apps may use of `feed`: these names and nothing else (import-linter holds it).

Plain values cross this line (`VideoRef`, `DraftReceipt`; media as `mediakit.EncodedClip`),
never model instances.
"""

from feed.errors import VIDEO_NOT_FOUND
from feed.selectors import VideoRef, video_ref_for_viewer
from feed.services import DraftReceipt, draft_create_for_job

__all__ = ["VIDEO_NOT_FOUND", "DraftReceipt", "VideoRef", "draft_create_for_job", "video_ref_for_viewer"]
