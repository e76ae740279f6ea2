"""The error codes of moderation (see config.errors)."""

from config.errors import ErrorCode

TEXT_REFUSED = ErrorCode("text_refused", "This text is not allowed on Kino.", 400)
