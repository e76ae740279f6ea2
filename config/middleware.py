"""Django middleware: malformed requests turned away before any view (and any database) sees them,
and the Permissions-Policy header on every response.

- A NUL anywhere in the path: PostgreSQL cannot hold it, so no object can match it: 404.
- A body declared in a charset that is not a text encoding (`multipart/form-data; charset=zlib`):
  Django would fail decoding it deep inside a form: 400.

Answers are in the API's error shape under /api/ and plain pages elsewhere (beta pages, admin).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound

from config import errors
from config.api import error_response, wants_json


class MalformedRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        if "\x00" in request.path:
            return self._refuse(request, errors.NOT_FOUND, HttpResponseNotFound)
        if not _text_charset(request.content_params.get("charset") if request.content_params else None):
            return self._refuse(request, errors.MALFORMED_REQUEST, HttpResponseBadRequest)
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest, error: errors.ErrorCode, page: type[HttpResponse]) -> HttpResponse:
        if wants_json(request):
            return error_response(error)
        return page(error.message, content_type="text/plain; charset=utf-8")


# The text encodings a form may come in. Others are refused rather than trusted: bytes-to-bytes
# codecs (zlib), `undefined` and `punycode` raise while Django decodes the form.
TEXT_CHARSETS = ("utf-8", "utf-16", "utf-32", "ascii", "latin-1", "iso8859-", "cp125", "cp437", "cp850")


def _text_charset(charset: str | None) -> bool:
    if not charset:
        return True
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return False
    return name.startswith(TEXT_CHARSETS)


class PermissionsPolicyMiddleware:
    """Every response says which browser features its page may use: none of the powerful ones."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
