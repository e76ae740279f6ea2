"""The public share page of a post (`/v/<id>`) and its media, for anyone with the link, signed in or not.

A posted video of an active member is public here, whoever asks: blocks hide people from each other
inside Kino, but a link someone shared must open for whoever got it (chat apps fetch it anonymously).
Anything else (a draft, a removed or deleted video, a deactivated owner, an unknown id) answers the
same plain 404 page.

The page names its media by stable paths (`/v/<id>/video.mp4`, `/v/<id>/poster.jpg`), not signed
links: chat apps fetch `og:video` and `og:image` long after the page, and a page left open keeps
playing. The files answer only while the video is posted, so unposting or removing a video takes them
down with the page at once: page and files may be stored by any cache but must be asked for again
each time (`no-cache`), so no browser or proxy keeps showing a video its owner or a moderator took down.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from uuid import UUID

from django.core.files.storage import default_storage
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import Truncator
from django.views.decorators.http import require_http_methods

from config.api import HANDLERS, site_url
from feed.media import _ranged_file
from feed.models import Video

State = Video.State
DESCRIPTION_MAX = 200  # chat apps cut longer descriptions anyway
MEDIA_PARTS = {"video.mp4": "video", "poster.jpg": "poster"}


def share_url(request: HttpRequest, video_id: UUID) -> str:
    """The public page of a post, absolute (what a client shares and an API card names)."""
    return site_url(request) + _share_prefix() + str(video_id)


@cache
def _share_prefix() -> str:
    """`/v/`, reversed once (a page of cards names twenty share pages)."""
    any_id = UUID(int=0)
    return reverse("share", kwargs={"video_id": any_id}).removesuffix(str(any_id))


def _public_posts() -> QuerySet[Video]:
    """What a share link opens: posts of active members, for anyone (no viewer, so no blocks)."""
    return Video.objects.filter(state=State.POSTED, owner__is_active=True)


def _public_post(video_id: UUID) -> Video | None:
    """The post with its creator and, for a remix, its parent's creator when the parent is public
    too (one query)."""
    parent = _public_posts().filter(id=OuterRef("remix_of_id"))
    return (
        _public_posts()
        .filter(id=video_id)
        .select_related("owner__profile")
        .annotate(parent_username=Subquery(parent.values("owner__username")[:1]))
        .first()
    )


@dataclass(frozen=True)
class SharePage:
    """What the template shows, every URL absolute (unfurlers ignore relative ones)."""

    video: Video
    username: str
    display_name: str
    parent_username: str | None
    page_url: str
    video_url: str
    poster_url: str
    parent_url: str | None
    title: str
    description: str
    secure: bool


def _page_of(request: HttpRequest, video: Video) -> SharePage:
    base = site_url(request)
    username = video.owner.username
    display_name = video.owner.profile.display_name
    parent_username: str | None = getattr(video, "parent_username", None)
    parent_url = None
    if parent_username is not None:
        parent_url = base + reverse("share", kwargs={"video_id": video.remix_of_id})
    media = {part: base + reverse("share-media", args=[video.id, name]) for name, part in MEDIA_PARTS.items()}
    who = f"{display_name} (@{username})" if display_name else f"@{username}"
    return SharePage(
        video=video,
        username=username,
        display_name=display_name,
        parent_username=parent_username,
        page_url=share_url(request, video.id),
        video_url=media["video"],
        poster_url=media["poster"],
        parent_url=parent_url,
        title=f"{who} on Kino",
        description=Truncator(video.caption or f"A video by @{username} on Kino.").chars(DESCRIPTION_MAX),
        secure=base.startswith("https://"),
    )


def _not_found(request: HttpRequest) -> HttpResponseBase:
    # The project's 404 page (plain HTML, the same bytes whatever the reason), also with DEBUG on.
    response: HttpResponseBase = HANDLERS["handler404"](request, Http404())
    return response


def _public(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "public, no-cache"  # anyone may see it, but only while it is posted
    return response


@require_http_methods(["GET", "HEAD"])
def share_page(request: HttpRequest, video_id: UUID) -> HttpResponseBase:
    video = _public_post(video_id)
    if video is None:
        return _not_found(request)
    response: HttpResponse = render(request, "feed/share.html", {"page": _page_of(request, video)})
    return _public(response)


@require_http_methods(["GET", "HEAD"])
def share_media(request: HttpRequest, video_id: UUID, name: str) -> HttpResponseBase:
    """A public post's MP4 or poster, with range requests (players seek and resume with them)."""
    part = MEDIA_PARTS.get(name)
    video = _public_posts().filter(id=video_id).first() if part is not None else None
    file_name = getattr(video, part).name if video is not None and part is not None else ""
    if not file_name or not default_storage.exists(file_name):
        return _not_found(request)
    return _public(_ranged_file(request, file_name))
