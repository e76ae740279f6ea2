"""Private media (drafts) through short-lived signed URLs, served with HTTP range requests.

With local storage, URLs point at /media/signed/<token>, where the token names one file and
expires after MEDIA_URL_TTL_S. With S3-compatible storage, the storage's own presigned URLs
are used instead (django-storages, `querystring_auth`). A download link is the same link with a
flag in the token (S3: a `response-content-disposition` in the presigned query): the file comes as
an attachment, to be saved rather than played.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from uuid import UUID

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

from config.api import error_response, site_url
from config.errors import NOT_FOUND
from feed import errors
from feed.models import Video

SALT = "kino.feed.media"
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


PARTS = ("video", "poster")


def signed_url(request: HttpRequest, video: Video, part: str) -> str:
    """A short-lived link to one part of a video. The token names the video and the part, not a
    storage path; the server serves it only while a live video still owns that file."""
    if not isinstance(default_storage, FileSystemStorage):
        return default_storage.url(getattr(video, part).name)  # presigned by the storage backend
    return site_url(request) + signed_path(video, part)


def signed_path(video: Video, part: str) -> str:
    """The site-relative signed link of local storage (what the admin's page plays)."""
    if not isinstance(default_storage, FileSystemStorage):
        return default_storage.url(getattr(video, part).name)
    return _signed_path(video.id, part)


def download_filename(video_id: UUID) -> str:
    return f"kino-{video_id}.mp4"


def download_url(request: HttpRequest, video: Video) -> str:
    """A short-lived link that serves the video's MP4 as an attachment (`Content-Disposition`)."""
    disposition = f'attachment; filename="{download_filename(video.id)}"'
    if not isinstance(default_storage, FileSystemStorage):
        # django-storages' S3 storage signs these response headers into the presigned URL.
        url: str = default_storage.url(  # type: ignore[call-arg]
            video.video.name, parameters={"ResponseContentDisposition": disposition}
        )
        return url
    return site_url(request) + _signed_path(video.id, "video", download=True)


@cache
def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


@cache
def _signed_prefix() -> str:
    return reverse("media-signed", kwargs={"token": "-"})[:-1]


def _signed_path(video_id: UUID, part: str, *, download: bool = False) -> str:
    """`/media/signed/<video>:<part>:<0|1>:<time>:<signature>`: a plain signed value, not signed JSON
    (a page of cards makes forty of these)."""
    return _signed_prefix() + _signer().sign(f"{video_id}:{part}:{int(download)}")


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


@dataclass(frozen=True)
class _Claim:
    video_id: UUID
    part: str
    download: bool  # served as an attachment


def _claim_of(token: str) -> _Claim:
    try:
        video_id, part, download = _signer().unsign(token, max_age=settings.MEDIA_URL_TTL_S).split(":")
        parsed = _Claim(video_id=UUID(video_id), part=part, download=download == "1")
    except (signing.BadSignature, TypeError, ValueError):
        raise _LinkInvalid from None
    if parsed.part not in PARTS:
        raise _LinkInvalid
    return parsed


def _file_of(claim: _Claim) -> str | None:
    """The storage name a valid claim still reaches, or None: only a draft or a post owns its files
    (a removed or deleted video is a tombstone, whatever is left in storage)."""
    live = (Video.State.DRAFT, Video.State.POSTED)
    video = Video.objects.filter(id=claim.video_id, state__in=live).first()
    name = getattr(video, claim.part).name if video is not None else None
    return name if name and default_storage.exists(name) else None


class _LinkInvalid(Exception):
    pass


@require_http_methods(["GET", "HEAD"])
def media_signed(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        claim = _claim_of(token)
    except _LinkInvalid:
        return error_response(errors.MEDIA_LINK_INVALID)
    name = _file_of(claim)
    if name is None:
        return error_response(NOT_FOUND)
    response = _ranged_file(request, name)
    if claim.download:
        response["Content-Disposition"] = f'attachment; filename="{download_filename(claim.video_id)}"'
    return response


def _ranged_file(request: HttpRequest, name: str) -> HttpResponseBase:
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
