"""Writes of the feed app: drafts, posts and their lifecycle."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, PositiveIntegerField, When
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts.public import WorkStop, member_standing, work_stop
from config.errors import KinoError
from config.storage import files_delete_on_commit
from feed import errors, selectors
from feed.listeners import videos_changed
from feed.mentions import mentions_record
from feed.models import Mention, NotificationGroup, Video, VideoCameo, VideoStats
from feed.notifications import notification_send
from mediakit import EncodedClip
from moderation.public import TextKind
from moderation.public import text_require as moderation_text_require

logger = logging.getLogger(__name__)
State = Video.State


def text_require(text: str, *, kind: TextKind, field: str, author_id: UUID | None = None) -> None:
    """Refuse `text` (400, under `field`) when the text policy does not allow it (a teen author's
    by the teen thresholds)."""
    standing = member_standing(user_id=author_id) if author_id is not None else None
    moderation_text_require(text, kind=kind, field=field, teen=standing is not None and standing.is_teen)


@dataclass(frozen=True)
class DraftReceipt:
    video_id: UUID
    created: bool  # False when the job had already produced its draft (a retried job)


def _lineage_of(parent_id: UUID | None) -> list[UUID]:
    """The ancestors of a remix of `parent_id`, root first. A parent gone with its owner's account
    still names itself, so the chain reads as far as it can."""
    if parent_id is None:
        return []
    parent = Video.objects.filter(id=parent_id).values_list("lineage", flat=True).first()
    return [*(parent or []), parent_id]


def draft_create_for_job(
    *,
    owner_id: UUID,
    job_id: UUID,
    prompt: str,
    media: EncodedClip,
    engine: str,
    remix_of_id: UUID | None = None,
    cameos: Sequence[tuple[UUID, UUID]] = (),
    made_as: str = Video.MadeAs.GENERATION,
) -> DraftReceipt:
    """The draft of a finished generation job; exactly one per job, however often this is called.
    `cameos`: (cameo_id, owner_id) of each cameo cast, so its owner finds the draft (oversight).
    `remix_of_id` is the parent of a remix or an extension (`made_as` says which): its lineage."""
    existing = Video.objects.filter(source_job_id=job_id).values_list("id", flat=True).first()
    if existing is not None:
        return DraftReceipt(video_id=existing, created=False)
    lineage = _lineage_of(remix_of_id)
    video = Video(
        owner_id=owner_id,
        source_job_id=job_id,
        prompt=prompt,
        size_bytes=len(media.mp4),
        width=media.width,
        height=media.height,
        duration_ms=media.duration_ms,
        fps=media.fps,
        has_audio=media.has_audio,
        engine=engine,
        remix_of_id=remix_of_id,
        lineage=lineage,
        depth=len(lineage),
        made_as=made_as,
    )
    video.video.save("clip.mp4", ContentFile(media.mp4), save=False)
    video.poster.save("poster.jpg", ContentFile(media.poster_jpeg), save=False)
    try:
        with transaction.atomic():
            video.save()
            VideoStats.objects.create(video=video)
            VideoCameo.objects.bulk_create(
                [
                    VideoCameo(video=video, cameo_id=cameo_id, cameo_owner_id=owner)
                    for cameo_id, owner in cameos
                ]
            )
    except IntegrityError:
        # Another attempt of the same job won the race; keep its draft, drop our files.
        video.video.delete(save=False)
        video.poster.delete(save=False)
        winner = Video.objects.values_list("id", flat=True).get(source_job_id=job_id)
        return DraftReceipt(video_id=winner, created=False)
    logger.info("draft.created", extra={"video_id": str(video.id), "job_id": str(job_id)})
    return DraftReceipt(video_id=video.id, created=True)


# --- posts ------------------------------------------------------------------------


def _remix_counts_add(video: Video, delta: int) -> None:
    """A remix entering (+1) or leaving (-1) the public: its parent's direct count and every
    ancestor's descendant count. The path's rows are locked first in id order, so two posts in one
    chain never wait on each other in a cycle, then changed in one UPDATE. Floored at 0: the columns
    are unsigned, and a counter that drifted must not turn an unpost into a 500."""
    if not video.lineage:
        return
    path = VideoStats.objects.filter(video_id__in=video.lineage)
    list(path.select_for_update().order_by("video_id").values_list("video_id", flat=True))
    parent = video.lineage[-1]
    path.update(
        descendants=Greatest(F("descendants") + delta, 0),
        remixes=Case(
            When(video_id=parent, then=Greatest(F("remixes") + delta, 0)),
            default=F("remixes"),
            output_field=PositiveIntegerField(),
        ),
    )


def _remix_notify(video: Video, parent_id: UUID) -> None:
    parent = Video.objects.filter(id=parent_id, state=State.POSTED).values_list("owner_id", flat=True).first()
    if parent is not None:
        notification_send(
            recipient_id=parent,
            type=NotificationGroup.Type.REMIXED,
            actor_id=video.owner_id,
            target_kind="video",
            target_id=parent_id,
            data={"remix_id": str(video.id)},
        )


@transaction.atomic
def video_post(
    *, owner_id: UUID, video_id: UUID, caption: str | None = None, remix_allowed: bool | None = None
) -> Video:
    """A draft becomes a post: visible to everyone who is not blocked, remixable unless turned off.
    A caption or `remix_allowed` left out keeps the draft's own (a new draft: no caption, remixable).
    Mentions are resolved and notified here, when the caption becomes public."""
    video = selectors.video_get_for_owner(owner_id=owner_id, video_id=video_id, for_update=True)
    if video.state != State.DRAFT:
        raise KinoError(errors.VIDEO_NOT_DRAFT)
    if caption is not None:
        text_require(caption, kind="caption", field="caption", author_id=owner_id)
        video.caption = caption
    if remix_allowed is not None:
        video.remix_allowed = remix_allowed
    video.state, video.posted_at = State.POSTED, timezone.now()
    video.save(update_fields=["state", "caption", "remix_allowed", "posted_at", "updated_at"])
    _remix_counts_add(video, +1)
    mentions_record(author_id=owner_id, text=video.caption, video=video)
    if video.remix_of_id is not None:
        _remix_notify(video, video.remix_of_id)
    videos_changed([video.id])
    logger.info("video.posted", extra={"video_id": str(video.id)})
    return video


@transaction.atomic
def video_update(
    *, owner_id: UUID, video_id: UUID, caption: str | None = None, remix_allowed: bool | None = None
) -> Video:
    """Edit a draft's or a post's caption or whether it may be remixed (400 `nothing_to_change` for
    neither, checked after the lookup so a stranger's empty edit is the same 404 as any other). A
    post's mentions follow the new text; a draft's wait until it is posted: nobody is told of a
    mention in a video they cannot see."""
    video = selectors.video_get_for_owner(owner_id=owner_id, video_id=video_id, for_update=True)
    if caption is None and remix_allowed is None:
        raise KinoError(errors.NOTHING_TO_CHANGE)
    if caption is not None:
        text_require(caption, kind="caption", field="caption", author_id=owner_id)
        video.caption = caption
        if video.state == State.POSTED:
            mentions_record(author_id=owner_id, text=caption, video=video)
    if remix_allowed is not None:
        video.remix_allowed = remix_allowed
    video.save(update_fields=["caption", "remix_allowed", "updated_at"])
    if caption is not None and video.state == State.POSTED:
        videos_changed([video.id])
    return video


@transaction.atomic
def video_unpost(*, owner_id: UUID, video_id: UUID) -> Video:
    """A post goes back to its owner's drafts; its remixes stay, showing it as unavailable."""
    video = selectors.video_get_for_owner(owner_id=owner_id, video_id=video_id, for_update=True)
    if video.state != State.POSTED:
        raise KinoError(errors.VIDEO_NOT_POSTED)
    video.state = State.DRAFT
    video.save(update_fields=["state", "updated_at"])
    _remix_counts_add(video, -1)
    videos_changed([video.id])
    return video


@transaction.atomic
def video_delete(*, owner_id: UUID, video_id: UUID) -> None:
    """Delete a draft or a post: its files go (once this commits) and its text with them; the row
    stays as a tombstone, so a remix chain through it still reads."""
    video = selectors.video_get_for_owner(owner_id=owner_id, video_id=video_id, for_update=True)
    if video.state == State.POSTED:
        _remix_counts_add(video, -1)
    files = [name for name in (video.video.name, video.poster.name) if name]
    video.state, video.caption, video.prompt = State.DELETED, "", ""
    video.video, video.poster = "", ""
    video.save(update_fields=["state", "caption", "prompt", "video", "poster", "updated_at"])
    Mention.objects.filter(video=video).delete()
    files_delete_on_commit(files)
    videos_changed([video.id])
    logger.info("video.deleted", extra={"video_id": str(video.id)})


@transaction.atomic
@transaction.atomic
def video_remove(*, video_id: UUID, by_id: UUID | None, reason: str) -> bool:
    """A moderator's takedown: the video becomes a removed tombstone (hidden everywhere, its media
    links dead, its owner's edits 404) and leaves the remix counts of its ancestors; remixes of it
    being generated stop (`remix_parent_removed`). Its files stay for review and appeal. False
    when it was already removed or deleted (nothing changes)."""
    video = (
        Video.objects.select_for_update(of=("self",))
        .filter(id=video_id, state__in=[State.DRAFT, State.POSTED])
        .first()
    )
    if video is None:
        return False
    if video.state == State.POSTED:
        _remix_counts_add(video, -1)
    video.state, video.removed_at = State.REMOVED, timezone.now()
    video.removed_by_id, video.removed_reason = by_id, reason[:500]
    video.save(update_fields=["state", "removed_at", "removed_by", "removed_reason", "updated_at"])
    work_stop(WorkStop(subject="video", subject_id=video.id, error=errors.REMIX_PARENT_REMOVED))
    videos_changed([video.id])
    logger.info("video.removed", extra={"video_id": str(video.id), "by": str(by_id)})
    return True


def video_download(*, viewer_id: UUID, video_id: UUID) -> Video:
    """A download the viewer may make (their own video, or a post they may see), counted."""
    video = selectors.video_get_for_download(viewer_id=viewer_id, video_id=video_id)
    VideoStats.objects.filter(video_id=video.id).update(downloads=F("downloads") + 1)
    return video


# --- a member leaves ------------------------------------------------------------------

_LEAVING_SQL = [
    # Their likes of other people's posts.
    """UPDATE feed_videostats s SET likes = GREATEST(s.likes - g.n, 0)
       FROM (SELECT l.video_id, count(*) AS n FROM feed_like l JOIN feed_video v ON v.id = l.video_id
             WHERE l.user_id = %(user)s AND v.owner_id <> %(user)s GROUP BY l.video_id) g
       WHERE s.video_id = g.video_id""",
    # Their comments on other people's posts, and the replies that go with their top-level ones.
    """UPDATE feed_videostats s SET comments = GREATEST(s.comments - g.n, 0)
       FROM (SELECT c.video_id, count(*) AS n FROM feed_comment c
             JOIN feed_video v ON v.id = c.video_id
             LEFT JOIN feed_comment p ON p.id = c.parent_id
             WHERE (c.author_id = %(user)s OR p.author_id = %(user)s) AND v.owner_id <> %(user)s
               AND c.removed_at IS NULL AND p.removed_at IS NULL
             GROUP BY c.video_id) g
       WHERE s.video_id = g.video_id""",
    # Their posted remixes, out of every ancestor's counts (the chains still read: the ids stay in
    # the descendants' paths, shown as deleted).
    """UPDATE feed_videostats s SET descendants = GREATEST(s.descendants - g.n, 0),
           remixes = GREATEST(s.remixes - g.direct, 0)
       FROM (SELECT a.id, count(*) AS n, count(*) FILTER (WHERE v.remix_of_id = a.id) AS direct
             FROM feed_video v, unnest(v.lineage) AS a(id)
             WHERE v.owner_id = %(user)s AND v.state = 'posted' GROUP BY a.id) g
       WHERE s.video_id = g.id""",
    "DELETE FROM feed_viewevent WHERE user_id = %(user)s",
]


def member_leaving(user_id: UUID) -> None:
    """accounts' departure hook: what the member's deletion cascades away leaves other people's
    counters right, and their view events (no foreign key) go with them."""
    with connection.cursor() as cursor:
        for statement in _LEAVING_SQL:
            cursor.execute(statement, {"user": user_id})
