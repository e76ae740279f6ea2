"""Errors with stable codes. Every API error reads {"error": {"code", "message", "fields"}}.

Each code is declared once, as an `ErrorCode` with its default message and HTTP status,
in its app's `errors.py` (the platform's own codes are below). Raising sites name the
code, never a status: `raise KinoError(QUOTA_EXCEEDED, "You have used today's 30.")`.
The worker records the same codes on jobs (`Job.error_code`), so a client reads one
vocabulary whether a request was refused or a job was blocked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rest_framework import exceptions

_CODES: dict[str, ErrorCode] = {}
CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,49}")


@dataclass(frozen=True)
class ErrorCode:
    code: str  # stable, machine-readable: clients branch on it
    message: str  # the default message, for people
    status: int = 400  # the HTTP status of a request refused with it

    def __post_init__(self) -> None:
        if not CODE_PATTERN.fullmatch(self.code):
            raise ValueError(f"error code {self.code!r} is not 1-50 of a-z, 0-9 and _ (jobs store it in 50)")
        known = _CODES.setdefault(self.code, self)
        if known != self:
            raise ValueError(f"error code {self.code!r} is declared twice, differently: {known} and {self}")

    def __str__(self) -> str:
        return self.code


def error_code_get(code: str) -> ErrorCode:
    """The declared code of that name (KeyError for an undeclared one: a bug, not input)."""
    return _CODES[code]


def error_codes() -> Mapping[str, ErrorCode]:
    return dict(_CODES)


FieldErrors = dict[str, list[dict[str, str]]]


def field_errors(field: str, error: ErrorCode, *messages: str) -> FieldErrors:
    """{field: [{"code", "message"}, ...]}: one entry per message (the code's own when none is given)."""
    return {field: [{"code": error.code, "message": message} for message in messages or (error.message,)]}


class KinoError(exceptions.APIException):
    """A refusal with a declared code; its HTTP status is the code's, whoever raises it.

    `field` names the input the error is about (the same code and message go under
    `fields`); `fields` gives them in full when there are several.
    """

    def __init__(
        self,
        error: ErrorCode,
        message: str | None = None,
        *,
        field: str | None = None,
        fields: FieldErrors | None = None,
    ) -> None:
        message = message or error.message
        super().__init__(detail=message, code=error.code)
        self.error = error
        self.code = error.code
        self.status_code = error.status
        self.fields: FieldErrors = dict(fields or {})
        if field is not None:
            self.fields.update(field_errors(field, error, message))


def error_body(code: str, message: str, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": dict(fields or {})}}


# --- the platform's codes (DRF's own exceptions are mapped onto these in config.api) ---------

INVALID_INPUT = ErrorCode("invalid_input", "Some fields are invalid.")
UNKNOWN_FIELD = ErrorCode("unknown_field", "Unknown field.")
MALFORMED_REQUEST = ErrorCode("malformed_request", "The request body could not be parsed.")
BAD_REQUEST = ErrorCode("bad_request", "The request is malformed.")
INVALID_CURSOR = ErrorCode("invalid_cursor", "The cursor is invalid.")
NOT_AUTHENTICATED = ErrorCode("not_authenticated", "Authentication credentials were not provided.", 401)
AUTHENTICATION_FAILED = ErrorCode("authentication_failed", "Incorrect authentication credentials.", 401)
TOKEN_NOT_VALID = ErrorCode("token_not_valid", "The token is invalid or expired.", 401)
PERMISSION_DENIED = ErrorCode("permission_denied", "You may not do this.", 403)
CSRF_FAILED = ErrorCode("csrf_failed", "CSRF verification failed.", 403)
NOT_FOUND = ErrorCode("not_found", "Not found.", 404)
METHOD_NOT_ALLOWED = ErrorCode("method_not_allowed", "This method is not allowed here.", 405)
NOT_ACCEPTABLE = ErrorCode("not_acceptable", "No acceptable response format.", 406)
REQUEST_TOO_LARGE = ErrorCode("request_too_large", "The request body is too large.", 413)
UNSUPPORTED_MEDIA_TYPE = ErrorCode("unsupported_media_type", "Unsupported media type.", 415)
RATE_LIMITED = ErrorCode("rate_limited", "Too many requests: slow down.", 429)
SERVER_ERROR = ErrorCode("server_error", "Something went wrong on our side.", 500)
SERVER_BUSY = ErrorCode(
    "server_busy", "The server is too busy to answer now. Try again in a few seconds.", 503
)
INVALID = ErrorCode("invalid", "This value is invalid.")  # a field problem DRF gave no code for
UNKNOWN_MESSAGE = ErrorCode("unknown_message", "The server does not understand this message.")  # WebSocket

# Uploads (mediakit's guards name these codes).
IMAGE_TOO_LARGE = ErrorCode("image_too_large", "The image is too large.")
IMAGE_TOO_MANY_PIXELS = ErrorCode("image_too_many_pixels", "The image has too many pixels.")
IMAGE_TYPE_UNSUPPORTED = ErrorCode("image_type_unsupported", "Use a JPEG, PNG or WebP image.")
IMAGE_INVALID = ErrorCode("image_invalid", "The file is not a readable image.")


def upload_refused(exc: Any, field: str) -> KinoError:
    """A mediakit refusal (`.code`, `.message`) as the API error on the upload's field."""
    return KinoError(error_code_get(exc.code), exc.message, field=field)


# Policy refusals (moderation's verdicts): declared here because an app below moderation answers them
# too (accounts refuses names, bios and avatars through the checks moderation registers in its hooks)
# and its API lists them.
TEXT_REFUSED = ErrorCode("text_refused", "This text is not allowed on Kino.", 400)
TEXT_PUBLIC_FIGURE = ErrorCode(
    "text_public_figure", "This names a public figure or a character they are known for.", 400
)
LIKENESS_PUBLIC_FIGURE = ErrorCode(
    "likeness_public_figure", "This shows a public figure's likeness, which Kino does not allow.", 400
)
MODERATION_UNAVAILABLE = ErrorCode(
    "moderation_unavailable",
    "Screening is unavailable right now, so nothing was published. Try again later.",
    503,
)
