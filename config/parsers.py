"""Request parsers that look at the size of a body before reading it."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import JSONParser, MultiPartParser

from config.errors import REQUEST_TOO_LARGE, KinoError


class _BoundedParser:
    """Refuses a body over `limit_setting` bytes before reading it (DRF streams JSON and multipart
    without looking at Django's DATA_UPLOAD_MAX_MEMORY_SIZE). A chunked body (no length) is bounded by
    the ASGI app's limit instead (config.limits.BodyLimit, REQUEST_MAX_BYTES)."""

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
    """Also refuses JSON nested deeper than MAX_DEPTH and strings (keys too) that are not valid
    Unicode (lone surrogates): both would crash whatever reads or echoes them later."""

    limit_setting = "API_MAX_JSON_BYTES"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("The JSON is nested too deeply.") from None
        _json_checked(data)
        return data


MAX_DEPTH = 32


def _json_checked(data: Any) -> None:
    """The depth by a walk of the containers only; the text (keys too) by one encoding of the whole
    document, at C speed: a 500-event batch has ten times more strings than containers, and checking
    each string in Python cost a millisecond."""
    pending = [(data, 1)] if isinstance(data, dict | list) else []
    while pending:
        value, depth = pending.pop()
        if depth >= MAX_DEPTH and value:  # anything inside it lies deeper than MAX_DEPTH
            raise exceptions.ParseError(f"The JSON is nested deeper than {MAX_DEPTH} levels.")
        items = value.values() if isinstance(value, dict) else value
        pending.extend((item, depth + 1) for item in items if isinstance(item, dict | list))
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise exceptions.ParseError("The JSON holds text that is not valid Unicode.") from None


class BoundedMultiPartParser(_BoundedParser, MultiPartParser):
    limit_setting = "API_MAX_UPLOAD_BYTES"
