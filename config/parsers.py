"""Request parsers that look at the size of a body before reading it."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import JSONParser, MultiPartParser

from config.errors import REQUEST_TOO_LARGE, KinoError


class _BoundedParser:
    """Refuses a body over `limit_setting` bytes before reading it (DRF streams JSON and multipart
    without looking at Django's DATA_UPLOAD_MAX_MEMORY_SIZE). Bodies without a length are refused too."""

    limit_setting = "API_MAX_JSON_BYTES"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        from django.conf import settings

        request = (parser_context or {}).get("request")
        limit = getattr(settings, self.limit_setting)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            raise exceptions.ParseError("Content-Length is not a number.") from None
        if length > limit:
            raise KinoError(REQUEST_TOO_LARGE, f"The request body must be at most {limit} bytes.")
        return super().parse(stream, media_type, parser_context)  # type: ignore[misc]


class BoundedJSONParser(_BoundedParser, JSONParser):
    limit_setting = "API_MAX_JSON_BYTES"


class BoundedMultiPartParser(_BoundedParser, MultiPartParser):
    limit_setting = "API_MAX_UPLOAD_BYTES"
