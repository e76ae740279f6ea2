"""What other apps may use of `feed`: these names and nothing else (import-linter holds it).

Plain values cross this line (`VideoRef`, `DraftReceipt`; media as `mediakit.EncodedClip`),
never model instances. The member's own writes (`post`, `like`, `comment`) are here for the demo
seeding in `generation` and answer nothing.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from feed import reactions, services
from feed.apis.videos import VideoSerializer as VideoCardSerializer
from feed.errors import REMIX_NOT_ALLOWED, REMIX_OF_DRAFT, VIDEO_NOT_FOUND
from feed.events import EventIn, ViewEventsListener, view_events_listener_register
from feed.listeners import LikeListener, VideoListener, like_listener_register, video_listener_register
from feed.notifications import notification_send
from feed.selectors import (
    VideoMedia,
    VideoRef,
    video_count,
    video_ref_for_extension,
    video_ref_for_remix,
    video_ref_for_viewer,
    videos_cast,
    videos_media_for_owner,
)
from feed.services import DraftReceipt, draft_create_for_job

__all__ = [
    "REMIX_NOT_ALLOWED",
    "REMIX_OF_DRAFT",
    "VIDEO_NOT_FOUND",
    "DraftReceipt",
    "EventIn",
    "Interaction",
    "LikeListener",
    "PublicVideo",
    "VideoCardSerializer",
    "VideoCounters",
    "VideoFacts",
    "VideoListener",
    "VideoMedia",
    "VideoRef",
    "ViewEventsListener",
    "comment",
    "draft_create_for_job",
    "interactions_of",
    "interactions_since",
    "like",
    "like_listener_register",
    "liked_video_ids",
    "notification_send",
    "post",
    "posted_video_ids_of",
    "posts_matching_words",
    "video_cards_in_order",
    "video_count",
    "video_counters",
    "video_facts",
    "video_file_read",
    "video_listener_register",
    "video_public_ref",
    "video_ref_for_extension",
    "video_ref_for_remix",
    "video_ref_for_viewer",
    "videos_cast",
    "videos_media_for_owner",
    "view_events_listener_register",
]


def post(*, owner_id: UUID, video_id: UUID, caption: str = "") -> None:
    """The owner posts a draft (see `feed.services.video_post`)."""
    services.video_post(owner_id=owner_id, video_id=video_id, caption=caption)


def like(*, actor_id: UUID, video_id: UUID) -> None:
    reactions.like_create(actor_id=actor_id, video_id=video_id)


def comment(*, actor_id: UUID, video_id: UUID, body: str) -> None:
    reactions.comment_create(actor_id=actor_id, video_id=video_id, body=body)


def video_file_read(video_id: UUID) -> bytes | None:
    """The video's stored MP4 (any state: provenance compares a copy with drafts and removed posts
    too, and never shows the file), or None when it has none."""
    from django.core.files.storage import default_storage

    from feed.models import Video

    name = Video.objects.filter(id=video_id).values_list("video", flat=True).first()
    if not name:
        return None
    try:
        with default_storage.open(name, "rb") as handle:
            return bytes(handle.read())
    except OSError:
        return None


@dataclass(frozen=True)
class PublicVideo:
    """A post anyone may see, as its public share page shows it."""

    video_id: UUID
    username: str  # the creator's @handle, without the @
    caption: str
    share_path: str  # the share page, `/v/<id>` (make it absolute with config.api.site_url)


def video_public_ref(video_id: UUID) -> PublicVideo | None:
    """The video when anyone may see it (the share page's rule: posted, by an active member), else None:
    a draft, a removed or deleted video, a deactivated owner or an unknown id all read the same."""
    from django.urls import reverse

    from feed.share import _public_posts

    row = _public_posts().filter(id=video_id).values_list("owner__username", "caption").first()
    if row is None:
        return None
    share_path = reverse("share", kwargs={"video_id": video_id})
    return PublicVideo(video_id=video_id, username=row[0], caption=row[1], share_path=share_path)


# --- for the recommender: a ranked page's cards, counters, and what members did with posts -------


def video_cards_in_order(request: Any, *, viewer_id: UUID, video_ids: list[UUID]) -> list[dict[str, Any]]:
    """The cards (`VideoCardSerializer`'s shape) of the posts among `video_ids` that the viewer may see
    now, in the order given: one query however many. A post removed, unposted or blocked since it
    was ranked is left out, so a ranked page never shows what the viewer may not see."""
    from feed.selectors import post_cards_by_id

    rows = post_cards_by_id(viewer_id=viewer_id, video_ids=video_ids)
    by_id = {video.id: video for video in rows}
    serializer = VideoCardSerializer(context={"request": request})
    return [serializer.to_representation(by_id[video_id]) for video_id in video_ids if video_id in by_id]


@dataclass(frozen=True)
class VideoCounters:
    """A post's hot counters, as the ranker reads them (people, not events: see View events)."""

    likes: int
    comments: int
    remixes: int
    views: int
    watch_ms: int
    shares: int


def video_counters(video_ids: list[UUID]) -> dict[UUID, VideoCounters]:
    """The counters of each video in `video_ids` that has them, in one query. The ids go as one array
    parameter (`= ANY`): a first page asks for ~400, and `IN (%s, ...)` would bind each one."""
    from django.db import connection

    from feed.models import VideoStats

    table = VideoStats._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT video_id, likes, comments, remixes, views, watch_ms, shares FROM {table} "  # noqa: S608
            "WHERE video_id = ANY(%s::uuid[])",
            [list(video_ids)],
        )
        return {row[0]: VideoCounters(*row[1:]) for row in cursor.fetchall()}


def liked_video_ids(*, user_id: UUID, limit: int) -> list[UUID]:
    """The posts the member liked most recently, newest like first (`Like`'s (user, -created_at) index)."""
    from feed.models import Like

    return list(
        Like.objects.filter(user_id=user_id)
        .order_by("-created_at")
        .values_list("video_id", flat=True)[:limit]
    )


def posted_video_ids_of(*, owner_id: UUID) -> list[UUID]:
    """The ids of the member's posts (posted now, whatever the member's standing)."""
    from feed.models import Video

    return list(
        Video.objects.filter(owner_id=owner_id, state=Video.State.POSTED).values_list("id", flat=True)
    )


@dataclass(frozen=True)
class Interaction:
    """Something a member did with a video, for training the ranker: `kind` is a view event's kind
    (`like`, `share`, `see_less`, `skip`, `watch_progress` with `watch_ms`), `liked` (the like API) or
    `remixed` (the member made a video from it, drafts included: creating is what counts)."""

    user_id: UUID
    video_id: UUID
    kind: str
    watch_ms: int
    at: Any  # datetime: when it happened (the event's, the like's or the remix's time)


def interactions_of(*, user_ids: list[UUID], video_ids: list[UUID], since: Any) -> list[Interaction]:
    """What the members in `user_ids` did with the videos in `video_ids` since `since`: three queries
    (view events, likes, remixes), each filtered by both id lists."""
    from feed.models import Like, Video, ViewEvent

    kinds = ["like", "share", "see_less", "skip", "watch_progress"]
    events = ViewEvent.objects.filter(
        user_id__in=user_ids, video_id__in=video_ids, kind__in=kinds, occurred_at__gte=since
    ).values_list("user_id", "video_id", "kind", "watch_ms", "occurred_at")
    likes = Like.objects.filter(user_id__in=user_ids, video_id__in=video_ids, created_at__gte=since)
    remixes = Video.objects.filter(owner_id__in=user_ids, remix_of_id__in=video_ids, created_at__gte=since)
    return [
        *(Interaction(*row) for row in events),
        *(
            Interaction(u, v, "liked", 0, at)
            for u, v, at in likes.values_list("user_id", "video_id", "created_at")
        ),
        *(
            Interaction(u, v, "remixed", 0, at)
            for u, v, at in remixes.values_list("owner_id", "remix_of_id", "created_at")
            if v
        ),
    ]


def video_ids_existing(video_ids: list[UUID]) -> set[UUID]:
    """Which of these videos still exist, in any state (provenance drops the prints of the others)."""
    from feed.models import Video

    return set(Video.objects.filter(id__in=video_ids).values_list("id", flat=True))


# --- for search: posts by the words of their captions ----------------------------------------------


def posts_matching_words(*, viewer_id: UUID, words: str) -> Any:
    """The posts the viewer may see whose caption has the words (`websearch_to_tsquery`: quotes,
    `or`, `-word`; English stems, so "cooking" finds "cook"), as a values query of (`id`, `rank`)
    to slice or join into one statement: not evaluated here. It matches the expression of the GIN
    index that recommender's migration 0002_search builds on posted captions."""
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    from feed.selectors import posts_visible_to

    vector = SearchVector("caption", config="english")
    query = SearchQuery(words, config="english", search_type="websearch")
    return (
        posts_visible_to(viewer_id=viewer_id)
        .annotate(words=vector)
        .filter(words=query)
        .annotate(rank=SearchRank(vector, query))
        .values_list("id", "rank")
    )


# --- for the recommender's vector rows: what a post is, for indexing ------------------------------


@dataclass(frozen=True)
class VideoFacts:
    """What the recommender indexes of a video: who made it, when it was posted, what it says, and
    whether it may be recommended at all (`posted`: posted by an active member)."""

    video_id: UUID
    creator_id: UUID
    posted: bool
    posted_at: Any  # datetime | None
    remix_of_id: UUID | None
    prompt: str
    caption: str


def video_facts(video_ids: list[UUID]) -> list[VideoFacts]:
    """The facts of each known video in `video_ids` (any state: an unposted or removed one reads
    `posted=False`), in one query."""
    from feed.models import Video

    fields = ("id", "owner_id", "state", "owner__is_active", "posted_at", "remix_of_id", "prompt", "caption")
    rows = Video.objects.filter(id__in=video_ids).values_list(*fields)
    return [
        VideoFacts(vid, owner, state == Video.State.POSTED and active, posted_at, remix_of, prompt, caption)
        for vid, owner, state, active, posted_at, remix_of, prompt, caption in rows
    ]


def interactions_since(*, since: Any, limit: int) -> list[tuple[UUID, UUID, str, int]]:
    """(user_id, video_id, kind, watch_ms) of everything members did with videos since `since`, for
    training on all of it (kinds as `Interaction`'s), the newest `limit` of each source: three
    queries by time, none by id (a training set names too many ids for a list)."""
    from feed.models import Like, Video, ViewEvent

    kinds = ["like", "share", "see_less", "skip", "watch_progress"]
    events = ViewEvent.objects.filter(kind__in=kinds, occurred_at__gte=since).order_by("-occurred_at")
    likes = Like.objects.filter(created_at__gte=since).order_by("-created_at")
    remixes = Video.objects.filter(remix_of_id__isnull=False, created_at__gte=since).order_by("-created_at")
    return [
        *events.values_list("user_id", "video_id", "kind", "watch_ms")[:limit],
        *((u, v, "liked", 0) for u, v in likes.values_list("user_id", "video_id")[:limit]),
        *((u, v, "remixed", 0) for u, v in remixes.values_list("owner_id", "remix_of_id")[:limit] if v),
    ]
