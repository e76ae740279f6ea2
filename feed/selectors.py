"""Reads of the feed app; every lookup by a client-supplied id is scoped to what the viewer may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from uuid import UUID

from django.contrib.postgres.aggregates import JSONBAgg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Exists, JSONField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, JSONObject
from django.db.models.query import get_related_populators
from django.db.models.sql import Query
from django.db.models.sql.compiler import SQLCompiler

from accounts.public import block_partner_ids, member_id_for_viewer
from config.errors import KinoError
from feed import errors
from feed.models import Like, Mention, Video, VideoCameo

State = Video.State


@dataclass(frozen=True)
class VideoRef:
    """What other apps may know of a video they were allowed to name."""

    video_id: UUID
    owner_id: UUID
    state: str


def cast_in(viewer_id: UUID) -> Exists:
    return Exists(VideoCameo.objects.filter(video_id=OuterRef("id"), cameo_owner_id=viewer_id))


def videos_visible_to(*, viewer_id: UUID) -> QuerySet[Video]:
    """Posts of active members the viewer has not blocked (nor been blocked by), the viewer's own
    drafts, and drafts the viewer is cast in as a cameo. Removed and deleted videos are tombstones:
    never visible here (lineage shows them as such)."""
    posted = Q(state=State.POSTED, owner__is_active=True) & ~Q(
        owner_id__in=block_partner_ids(user_id=viewer_id)
    )
    own = Q(owner_id=viewer_id, state__in=[State.DRAFT, State.POSTED])
    cast = Q(state=State.DRAFT) & cast_in(viewer_id)
    return Video.objects.filter(posted | own | cast)


def posts_visible_to(*, viewer_id: UUID) -> QuerySet[Video]:
    """Posts only (no drafts): what profiles, lineage and share counts list."""
    return Video.objects.filter(state=State.POSTED, owner__is_active=True).exclude(
        owner_id__in=block_partner_ids(user_id=viewer_id)
    )


def _mentions_of_card(viewer_id: UUID) -> Coalesce:
    """The caption's mentions as one JSON list per video, [{written_as, user: {id, username}}] by name, read
    in the card's own query (a page of cards stays one query). Linked by id, so the username is the
    member's current one; members deactivated or blocked either way with the viewer are left out."""
    mentions = (
        Mention.objects.filter(video_id=OuterRef("id"), user__is_active=True)
        .exclude(user_id__in=block_partner_ids(user_id=viewer_id))
        .values("video_id")
        .annotate(
            items=JSONBAgg(
                JSONObject(written_as="written_as", user=JSONObject(id="user_id", username="user__username")),
                order_by=("written_as", "id"),
            )
        )
        .values("items")
    )
    return Coalesce(Subquery(mentions), Value([], output_field=JSONField()))


def video_cards(videos: QuerySet[Video], *, viewer_id: UUID) -> QuerySet[Video]:
    """What a video card shows, in the same query as the videos: the creator and their profile, the
    counters, whether the viewer liked it, the caption's mentions, and the parent's creator (remix
    attribution; blank when the parent is gone, hidden from the viewer, or not a post any more)."""
    parent = posts_visible_to(viewer_id=viewer_id).filter(id=OuterRef("remix_of_id"))
    # The path stays behind: a card does not show it, and a deep remix's is a thousand ids.
    return (
        videos.select_related("owner__profile", "stats")
        .defer("lineage")
        .annotate(
            liked_by_me=Exists(Like.objects.filter(video_id=OuterRef("id"), user_id=viewer_id)),
            remix_of_username=Subquery(parent.values("owner__username")[:1]),
            mention_list=_mentions_of_card(viewer_id),
        )
    )


# --- cards of given posts: one statement, compiled once ------------------------------------------

# Stand-ins for the viewer and the ids in the statement compiled once per process.
_ANY_VIEWER = UUID(int=0x6B696E6F)
_ANY_IDS = [UUID(int=0x6B696E70)]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    query: Query
    # What the compiler worked out, to read the rows back into videos on any thread's connection.
    select: list[Any]
    klass_info: dict[str, Any]
    annotation_col_map: dict[str, int]
    col_count: int

    def compiler(self) -> SQLCompiler:
        """A compiler on this thread's connection (cheap: it compiles nothing) knowing the rows' shape."""
        compiler = self.query.get_compiler(using=DEFAULT_DB_ALIAS)
        compiler.select, compiler.klass_info = self.select, self.klass_info
        compiler.annotation_col_map, compiler.col_count = self.annotation_col_map, self.col_count
        return compiler


@cache
def _post_cards_compiled() -> _Compiled:
    """`video_cards` of visible posts by id, compiled once: building and compiling that queryset
    (four subqueries) cost ~7 ms of a feed page's ~25, and the statement differs only by the viewer
    and the ids, which go in as parameters."""
    where = f'"{Video._meta.db_table}"."id" = ANY(%s::uuid[])'
    posts = posts_visible_to(viewer_id=_ANY_VIEWER).extra(where=[where], params=[_ANY_IDS])  # noqa: S610
    query = video_cards(posts, viewer_id=_ANY_VIEWER).query
    compiler = query.get_compiler(using=DEFAULT_DB_ALIAS)
    sql, params = compiler.as_sql()
    if _ANY_VIEWER not in params or _ANY_IDS not in params:
        raise RuntimeError("the post cards' statement lost its parameters")  # a Django upgrade: see here
    return _Compiled(
        sql,
        tuple(params),
        query,
        compiler.select,
        compiler.klass_info or {},
        compiler.annotation_col_map or {},
        compiler.col_count or 0,
    )


def post_cards_by_id(*, viewer_id: UUID, video_ids: list[UUID]) -> list[Video]:
    """`video_cards` of the posts among `video_ids` that the viewer may see (any order), as the
    queryset would give them, in one statement compiled once per process."""
    compiled = _post_cards_compiled()
    ids = list(video_ids)
    params = [viewer_id if p == _ANY_VIEWER else ids if p == _ANY_IDS else p for p in compiled.params]
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(compiled.sql, params)
        rows = cursor.fetchall()
    return _videos_of(compiled.compiler(), rows)


def _videos_of(compiler: SQLCompiler, rows: list[Sequence[Any]]) -> list[Video]:
    """The rows as Django's ModelIterable makes them: the video, its select_related objects and its
    annotations (the compiler's converters applied)."""
    klass_info, select = compiler.klass_info, compiler.select
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    names = [column[0].target.attname for column in select[start:end]]
    # Django 5.2's signature (the type stubs describe a later one).
    populators = get_related_populators(klass_info, select, DEFAULT_DB_ALIAS)  # type: ignore[call-arg]
    videos = []
    for row in compiler.results_iter(results=[list(rows)]):
        video = Video.from_db(DEFAULT_DB_ALIAS, names, row[start:end])
        for populator in populators:
            populator.populate(row, video)
        for name, position in compiler.annotation_col_map.items():
            setattr(video, name, row[position])
        videos.append(video)
    return videos


def video_get_for_viewer(*, viewer_id: UUID, video_id: UUID) -> Video:
    video = (
        video_cards(videos_visible_to(viewer_id=viewer_id), viewer_id=viewer_id).filter(id=video_id).first()
    )
    if video is None:
        raise KinoError(errors.VIDEO_NOT_FOUND)
    return video


def video_get_for_owner(*, owner_id: UUID, video_id: UUID, for_update: bool = False) -> Video:
    """One of the owner's own videos that is not a tombstone (404 otherwise, as for anyone else's);
    with `for_update`, its row locked for the rest of the transaction."""
    videos = Video.objects.filter(owner_id=owner_id, state__in=[State.DRAFT, State.POSTED])
    if for_update:
        videos = videos.select_for_update(of=("self",))
    video = videos.filter(id=video_id).first()
    if video is None:
        raise KinoError(errors.VIDEO_NOT_FOUND)
    return video


def video_ref_for_viewer(*, viewer_id: UUID, video_id: UUID) -> VideoRef:
    """A video `viewer_id` may see, as plain values; 404 `video_not_found` otherwise."""
    video = video_get_for_viewer(viewer_id=viewer_id, video_id=video_id)
    return VideoRef(video_id=video.id, owner_id=video.owner_id, state=video.state)


def video_ref_for_remix(*, viewer_id: UUID, video_id: UUID, field: str = "remix_of") -> VideoRef:
    """A post `viewer_id` may remix: visible (404 otherwise), posted (not a draft) and with remixing
    allowed by its owner. Errors name `field`."""
    video = videos_visible_to(viewer_id=viewer_id).filter(id=video_id).first()
    if video is None:
        raise KinoError(errors.VIDEO_NOT_FOUND, field=field)
    if video.state != State.POSTED:
        raise KinoError(errors.REMIX_OF_DRAFT, field=field)
    if not video.remix_allowed:
        raise KinoError(errors.REMIX_NOT_ALLOWED, field=field)
    return VideoRef(video_id=video.id, owner_id=video.owner_id, state=video.state)


def video_ref_for_extension(*, viewer_id: UUID, video_id: UUID) -> VideoRef:
    """A video `viewer_id` may extend: one of their own (draft or post), or a post of someone else's
    that they may remix. Errors name the field `extend_of`."""
    own = Video.objects.filter(owner_id=viewer_id, id=video_id, state__in=[State.DRAFT, State.POSTED]).first()
    if own is not None:
        return VideoRef(video_id=own.id, owner_id=own.owner_id, state=own.state)
    return video_ref_for_remix(viewer_id=viewer_id, video_id=video_id, field="extend_of")


@dataclass(frozen=True)
class VideoMedia:
    """What joining a video with others needs to know of it."""

    video_id: UUID
    duration_ms: int
    fps: float
    width: int
    height: int
    prompt: str


def videos_media_for_owner(*, owner_id: UUID, video_ids: list[UUID], field: str) -> list[VideoMedia]:
    """The owner's own videos (drafts or posts), in the order asked (an id may come twice); 404
    `video_not_found` naming `field` if any is not theirs or is gone."""
    rows = {
        row[0]: VideoMedia(*row)
        for row in Video.objects.filter(
            owner_id=owner_id, id__in=video_ids, state__in=[State.DRAFT, State.POSTED]
        ).values_list("id", "duration_ms", "fps", "width", "height", "prompt")
    }
    missing = [video_id for video_id in video_ids if video_id not in rows]
    if missing:
        raise KinoError(errors.VIDEO_NOT_FOUND, f"No such video of yours: {missing[0]}.", field=field)
    return [rows[video_id] for video_id in video_ids]


def videos_cast(video_ids: list[UUID]) -> list[UUID]:
    """The cameos cast in these videos (feed's VideoCameo), each once, in the videos' order."""
    rows = VideoCameo.objects.filter(video_id__in=video_ids).values_list("video_id", "cameo_id")
    order = {video_id: index for index, video_id in enumerate(video_ids)}
    ranked = sorted(rows, key=lambda row: (order[row[0]], str(row[1])))
    return list(dict.fromkeys(cameo_id for _, cameo_id in ranked))


def video_count() -> int:
    """How many videos there are, of any state (the demo seeds only an empty feed)."""
    return Video.objects.count()


def member_video_files(owner_id: UUID) -> list[str]:
    """Every file stored for the member's videos (their MP4s and posters)."""
    names = Video.objects.filter(owner_id=owner_id).values_list("video", "poster")
    return [name for pair in names for name in pair if name]


def drafts_of(*, owner_id: UUID) -> QuerySet[Video]:
    """The owner's drafts as cards (newest first, as `CursorPage` orders them)."""
    return video_cards(Video.objects.filter(owner_id=owner_id, state=State.DRAFT), viewer_id=owner_id)


def video_get_for_download(*, viewer_id: UUID, video_id: UUID) -> Video:
    """A video the viewer may download: their own (draft or post), or a post they may see. Someone who
    sees a draft only because they are cast in it may not take its file away (409 `video_not_posted`)."""
    video = videos_visible_to(viewer_id=viewer_id).filter(id=video_id).first()
    if video is None:
        raise KinoError(errors.VIDEO_NOT_FOUND)
    if video.owner_id != viewer_id and video.state != State.POSTED:
        raise KinoError(errors.VIDEO_NOT_POSTED)
    return video


# --- profiles: a member's posts, their remixes, the posts they appear in -------------------------


def profile_posts(*, viewer_id: UUID, username: str) -> QuerySet[Video]:
    """The member's posts as the viewer may see them (404 `user_not_found` for a member hidden from
    the viewer: unknown, deactivated, blocked either way). Drafts, removed and deleted videos never
    show, not even on one's own profile."""
    member_id = member_id_for_viewer(viewer_id=viewer_id, username=username)
    return video_cards(posts_visible_to(viewer_id=viewer_id).filter(owner_id=member_id), viewer_id=viewer_id)


def profile_remixes(*, viewer_id: UUID, username: str) -> QuerySet[Video]:
    """The member's posts that are remixes of another post."""
    return profile_posts(viewer_id=viewer_id, username=username).filter(remix_of_id__isnull=False)


def profile_cameos(*, viewer_id: UUID, username: str) -> QuerySet[Video]:
    """Posts, by anyone the viewer may see, that the member appears in as a cameo."""
    member_id = member_id_for_viewer(viewer_id=viewer_id, username=username)
    cast = Exists(VideoCameo.objects.filter(video_id=OuterRef("id"), cameo_owner_id=member_id))
    return video_cards(posts_visible_to(viewer_id=viewer_id).filter(cast), viewer_id=viewer_id)
