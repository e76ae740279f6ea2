"""What moderation may do to feed's objects: the subject handlers for "video" and "comment" and
the listener that turns a moderation outcome into a MODERATION notification. Moderation sits below
feed, so feed registers them (feed/apps.py).

A comment taken down is hidden with its replies (`Comment.removed_at`) and out of the video's
counter until a moderator restores it.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import transaction
from django.db.models import Q, QuerySet

from feed.cameos import OWNER_REASONS
from feed.listeners import videos_changed
from feed.media import signed_path
from feed.models import Comment, NotificationGroup, Video, VideoStats
from feed.notifications import notification_send
from feed.reactions import comment_restore, comment_take_down, comments_visible_to
from feed.selectors import cast_in, videos_visible_to
from feed.services import _remix_counts_add, video_remove
from moderation.public import (
    Outcome,
    SubjectHandler,
    SubjectView,
    outcome_listener_register,
    subject_handler_register,
)

logger = logging.getLogger(__name__)
State = Video.State


# --- videos ---------------------------------------------------------------------------------------


def _reach(stats: VideoStats | None) -> int:
    return 0 if stats is None else stats.views + stats.likes + stats.descendants


def _reportable_by(viewer_id: UUID) -> QuerySet[Video]:
    """What a member may report: what they see, and a removed video they are cast in (a cameo's owner
    who took their likeness out of it may still bring it to the moderators)."""
    visible = videos_visible_to(viewer_id=viewer_id).values("id")
    return Video.objects.filter(Q(id__in=visible) | (Q(state=State.REMOVED) & cast_in(viewer_id)))


def video_describe(video_id: UUID, viewer_id: UUID | None) -> SubjectView | None:
    """A video as its reporter may see it (a post, or a draft they own or are cast in), or as a
    moderator sees any video, removed ones included (deleted ones have no media left)."""
    videos = Video.objects.all() if viewer_id is None else _reportable_by(viewer_id)
    video = videos.select_related("owner", "stats").filter(id=video_id).first()
    if video is None:
        return None
    media = viewer_id is None and video.state != State.DELETED
    return SubjectView(
        kind="video",
        id=video.id,
        owner_id=video.owner_id,
        title=f"Video by @{video.owner.username}",
        text=video.caption or video.prompt,
        video_url=signed_path(video, "video") if media and video.video.name else "",
        poster_url=signed_path(video, "poster") if media and video.poster.name else "",
        reach=_reach(getattr(video, "stats", None)),
        state=video.state,
        related=(("job", video.source_job_id),) if video.source_job_id else (),
    )


def video_take_down(video_id: UUID, moderator_id: UUID | None, reason: str) -> None:
    video_remove(video_id=video_id, by_id=moderator_id, reason=reason)


@transaction.atomic
def video_restore(*, video_id: UUID, by_id: UUID | None) -> bool:
    """Undo a takedown: a removed video is a post again when it had been posted (`posted_at` set),
    else a draft, and counts again in its ancestors' remixes. Remixes of it whose generation was
    stopped stay stopped. False when it was not removed (nothing changes), and for a video a cameo's
    owner took down: withdrawn consent is not moderation's to overrule."""
    video = (
        Video.objects.select_for_update(of=("self",))
        .filter(id=video_id, state=State.REMOVED)
        .exclude(removed_reason__in=OWNER_REASONS)
        .first()
    )
    if video is None:
        return False
    video.state = State.POSTED if video.posted_at is not None else State.DRAFT
    video.removed_at, video.removed_by_id, video.removed_reason = None, None, ""
    video.save(update_fields=["state", "removed_at", "removed_by", "removed_reason", "updated_at"])
    if video.state == State.POSTED:
        _remix_counts_add(video, +1)
    videos_changed([video.id])
    logger.info("video.restored", extra={"video_id": str(video.id), "by": str(by_id)})
    return True


def _video_restore(video_id: UUID, moderator_id: UUID | None) -> None:
    video_restore(video_id=video_id, by_id=moderator_id)


def video_poster(video_id: UUID) -> bytes | None:
    video = Video.objects.filter(id=video_id).exclude(poster="").first()
    if video is None or not video.poster.name:
        return None
    with video.poster.open("rb") as handle:
        data: bytes = handle.read()
    return data


# --- comments -------------------------------------------------------------------------------------


def comment_describe(comment_id: UUID, viewer_id: UUID | None) -> SubjectView | None:
    comments = Comment.objects.all() if viewer_id is None else comments_visible_to(viewer_id=viewer_id)
    comment = comments.select_related("author", "video__stats").filter(id=comment_id).first()
    if comment is None:
        return None
    return SubjectView(
        kind="comment",
        id=comment.id,
        owner_id=comment.author_id,
        title=f"Comment by @{comment.author.username} on video {comment.video_id}",
        text=comment.body,
        reach=_reach(getattr(comment.video, "stats", None)),
        state="removed" if comment.removed_at else "posted",
    )


def _comment_take_down(comment_id: UUID, moderator_id: UUID | None, reason: str) -> None:
    if comment_take_down(comment_id=comment_id):
        logger.info("comment.removed", extra={"comment_id": str(comment_id), "by": str(moderator_id)})


def _comment_restore(comment_id: UUID, moderator_id: UUID | None) -> None:
    if comment_restore(comment_id=comment_id):
        logger.info("comment.restored", extra={"comment_id": str(comment_id), "by": str(moderator_id)})


# --- outcomes -------------------------------------------------------------------------------------


def outcome_notify(outcome: Outcome) -> None:
    """A statement of reasons, a report's outcome or an appeal's, as a MODERATION notification."""
    notification_send(
        recipient_id=outcome.recipient_id,
        type=NotificationGroup.Type.MODERATION,
        # The decision, not its subject: GET /api/v1/moderation/decisions/{id} reads it, and a comment
        # taken down takes its own notifications with it.
        target_kind="decision",
        target_id=outcome.decision_id,
        data={"kind": outcome.kind, **outcome.payload()},
    )


def moderation_hooks_register() -> None:
    subject_handler_register(
        "video",
        SubjectHandler(
            describe=video_describe,
            take_down=video_take_down,
            restore=_video_restore,
            poster=video_poster,
        ),
    )
    subject_handler_register(
        "comment",
        SubjectHandler(describe=comment_describe, take_down=_comment_take_down, restore=_comment_restore),
    )
    outcome_listener_register(outcome_notify)
