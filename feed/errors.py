"""The error codes of feed (see config.errors)."""

from config.errors import ErrorCode

VIDEO_NOT_FOUND = ErrorCode("video_not_found", "No such video.", 404)
MEDIA_LINK_INVALID = ErrorCode("media_link_invalid", "This link is invalid or has expired.", 403)
