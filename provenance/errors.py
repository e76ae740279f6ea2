"""The error codes of provenance (see config.errors)."""

from config.errors import ErrorCode

LOOKUP_MEDIA_INVALID = ErrorCode(
    "lookup_media_invalid", "The upload is not a video or image this server reads.", 400
)
LOOKUP_MEDIA_TOO_LARGE = ErrorCode("lookup_media_too_large", "The upload is too large.", 413)
LOOKUP_MEDIA_TOO_LONG = ErrorCode("lookup_media_too_long", "The video is too long to look up.", 400)
PROVENANCE_NO_FILE = ErrorCode(
    "provenance_no_file", "This video has no stored file to read a manifest from.", 409
)
LOOKUP_MEDIA_TOO_MANY_PIXELS = ErrorCode(
    "lookup_media_too_many_pixels", "The image or the video's frames have too many pixels.", 400
)
