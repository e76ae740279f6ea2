"""The error codes of feed (see config.errors)."""

from config.errors import ErrorCode

VIDEO_NOT_FOUND = ErrorCode("video_not_found", "No such video.", 404)
MEDIA_LINK_INVALID = ErrorCode("media_link_invalid", "This link is invalid or has expired.", 403)
REMIX_OF_DRAFT = ErrorCode("remix_of_draft", "Only posts can be remixed, not drafts.", 400)
REMIX_NOT_ALLOWED = ErrorCode("remix_not_allowed", "Its creator does not allow remixes of this post.", 403)
VIDEO_NOT_DRAFT = ErrorCode(
    "video_not_draft", "Only a draft can be posted; this video is already posted.", 409
)
VIDEO_NOT_POSTED = ErrorCode("video_not_posted", "This video is not posted.", 409)
NOTHING_TO_CHANGE = ErrorCode("nothing_to_change", "Send a caption, remix_allowed or both.", 400)
EXPORT_NOT_FOUND = ErrorCode("export_not_found", "No such export.", 404)
EXPORT_IN_PROGRESS = ErrorCode(
    "export_in_progress", "An export of your data is already being made; wait for it to finish.", 409
)
# Recorded on a failed export (`DataExport.error_code`); never a request's answer.
EXPORT_FAILED = ErrorCode("export_failed", "The export could not be made; start another.", 500)
EXPORT_INTERRUPTED = ErrorCode(
    "export_interrupted", "The export stopped before it finished (its worker was lost); start another.", 500
)
NOTIFICATION_NOT_FOUND = ErrorCode("notification_not_found", "No such notification.", 404)
COMMENT_NOT_FOUND = ErrorCode("comment_not_found", "No such comment.", 404)
COMMENT_EDIT_DENIED = ErrorCode("comment_edit_denied", "Only its author may edit a comment.", 403)
COMMENT_DELETE_DENIED = ErrorCode(
    "comment_delete_denied", "Only its author or the owner of the post may delete a comment.", 403
)
EVENTS_BATCH_TOO_LARGE = ErrorCode(
    "events_batch_too_large", "This batch holds too many events: send the rest in another.", 400
)
REMIX_PARENT_REMOVED = ErrorCode("remix_parent_removed", "The post this remixes was taken down.", 409)
