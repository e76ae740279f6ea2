"""Private media (drafts) through short-lived signed URLs, served with HTTP range requests.

With local storage, URLs point at /media/signed/<token>, where the token names one file and
expires after MEDIA_URL_TTL_S. With S3-compatible storage, the storage's own presigned URLs
are used instead (django-storages, `querystring_auth`).
"""

from __future__ import annotations

import mimetypes
import re
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from config.api import error_response
from config.errors import NOT_FOUND
from feed import errors

SALT = "kino.feed.media"
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def signed_url(name: str) -> str:
    if not isinstance(default_storage, FileSystemStorage):
        return default_storage.url(name)  # presigned by the storage backend
    token = signing.dumps({"f": name}, salt=SALT, compress=True)
    return settings.SITE_URL + reverse("media-signed", kwargs={"token": token})


def _file_chunks(handle: Any, start: int, length: int) -> Any:
    handle.seek(start)
    remaining = length
    try:
        while remaining > 0:
            data = handle.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()


@require_http_methods(["GET", "HEAD"])
def media_signed(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        name = signing.loads(token, salt=SALT, max_age=settings.MEDIA_URL_TTL_S)["f"]
    except (signing.BadSignature, KeyError, TypeError):
        return error_response(errors.MEDIA_LINK_INVALID)
    if not default_storage.exists(name):
        return error_response(NOT_FOUND)
    size = default_storage.size(name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=300"}
    match = RANGE.match(request.headers.get("Range", ""))
    if not match or not (match.group(1) or match.group(2)):
        response: HttpResponseBase = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:  # "bytes=-N": the last N bytes
            start, end = max(0, size - int(last)), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        length = end - start + 1
        response = StreamingHttpResponse(
            _file_chunks(default_storage.open(name, "rb"), start, length),
            status=206,
            content_type=content_type,
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(length)
    for key, value in headers.items():
        response[key] = value
    return response
