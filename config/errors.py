"""Errors with stable codes. Every API error reads {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import exceptions, status


class KinoError(exceptions.APIException):
    """A failure with a stable code. Subclass per case, or pass code= for one-offs."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request cannot be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(detail=message or self.default_detail, code=code or self.default_code)
        self.code = code or self.default_code
        self.fields = fields or {}
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(KinoError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


class ConflictError(KinoError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class RequestTooLarge(KinoError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


def error_body(code: str, message: str, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": dict(fields or {})}}
