"""Likes and comments: the writes and the reads behind them.

Likes are settled by the `like_once` constraint (INSERT ... ON CONFLICT DO NOTHING): liking twice,
or twenty times at once, stores one row, and the counter moves only when a row really came or went,
in the same transaction. Comments have one level of replies: a reply to a reply joins the thread of
the top-level comment it is under. `VideoStats.comments` counts every comment row of a video
(top-level ones and replies alike, whoever may read them); a deletion takes away as many as it
removed.

Who may see what: a comment is readable when its video is (`videos_visible_to`) and neither its
author nor, for a reply, its thread's author is deactivated or blocked either way with the reader.
Writing (liking, commenting, replying) needs a post, not a draft.

Rows a write points at are held first, so a deletion that runs at the same time either waits and
then sees the new row, or has already happened (404): the members involved with `member_hold` (the
way every write of a member's rows takes part in `member_delete`), the thread of a reply `FOR KEY
SHARE` (which `comment_delete`'s `FOR UPDATE` waits for).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from django.contrib.postgres.aggregates import JSONBAgg
from django.db import connection, transaction
from django.db.models import Count, F, JSONField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, JSONObject
from django.utils import timezone

from accounts.public import block_partner_ids, member_hold
from config.errors import ErrorCode, KinoError
from feed import errors
from feed.listeners import liked
from feed.mentions import mentions_record
from feed.models import Comment, Like, Mention, NotificationGroup, Video, VideoStats
from feed.notifications import notification_send
from feed.selectors import VideoRef, videos_visible_to
from feed.services import text_require

logger = logging.getLogger(__name__)
State = Video.State
Type = NotificationGroup.Type

REPLIES_PREVIEW = 2  # replies shown under each top-level comment; the rest behind /replies
EXCERPT_CHARS = 140  # of a comment, in the notifications it causes


# --- the video reacted to -----------------------------------------------------------------------


def video_ref_visible(*, viewer_id: UUID, video_id: UUID) -> VideoRef:
    """A video the viewer may see (a post, or a draft of theirs), as plain values; 404 otherwise."""
    row = videos_visible_to(viewer_id=viewer_id).filter(id=video_id).values_list("owner_id", "state").first()
    if row is None:
        raise KinoError(errors.VIDEO_NOT_FOUND)
    return VideoRef(video_id=video_id, owner_id=row[0], state=row[1])


def video_ref_for_reaction(*, viewer_id: UUID, video_id: UUID) -> VideoRef:
    """A post the viewer may like or comment on: 404 for what they may not see; 409
    `video_not_posted` for a draft of their own (or one they are cast in): drafts take no reactions."""
    video = video_ref_visible(viewer_id=viewer_id, video_id=video_id)
    if video.state != State.POSTED:
        raise KinoError(errors.VIDEO_NOT_POSTED)
    return video


def _members_hold(*user_ids: UUID, missing: ErrorCode = errors.VIDEO_NOT_FOUND) -> None:
    """Hold the rows of the members a new row points at (see the module's docstring). One of them
    gone means what the row would point at is going with them: `missing` (a 404)."""
    for user_id in sorted(set(user_ids)):
        if not member_hold(user_id=user_id):
            raise KinoError(missing)


def _counter_add(video_id: UUID, column: str, delta: int) -> int:
    """Move one of the video's counters by `delta` (never below 0) and answer its new value."""
    table = VideoStats._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = GREATEST({column} + %s, 0) WHERE video_id = %s "  # noqa: S608
            f"RETURNING {column}",
            [delta, video_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _counter_read(video_id: UUID, column: str) -> int:
    value = VideoStats.objects.filter(video_id=video_id).values_list(column, flat=True).first()
    return int(value or 0)


# --- likes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LikeState:
    liked: bool  # whether the member likes the video now
    likes: int  # the video's count of likes, this call included
    changed: bool  # False when it already was so (a repeat)


def _like_insert(user_id: UUID, video_id: UUID) -> bool:
    """True when this call stored the like; False when the member's like was already there (or a
    concurrent call of theirs stored it: the unique index makes it wait for that one's outcome)."""
    table = Like._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (user_id, video_id, created_at) VALUES (%s, %s, %s)
                ON CONFLICT (video_id, user_id) DO NOTHING RETURNING id""",  # noqa: S608
            [user_id, video_id, timezone.now()],
        )
        return cursor.fetchone() is not None


@transaction.atomic
def like_create(*, actor_id: UUID, video_id: UUID) -> LikeState:
    """Like a post; liking it again is harmless and counts once. Its owner hears of it, grouped with
    the other likes of the day (not for a repeat, nor for liking one's own post)."""
    video = video_ref_for_reaction(viewer_id=actor_id, video_id=video_id)
    _members_hold(actor_id, video.owner_id)
    if not _like_insert(actor_id, video_id):
        return LikeState(liked=True, likes=_counter_read(video_id, "likes"), changed=False)
    likes = _counter_add(video_id, "likes", +1)
    liked(actor_id, video_id)
    notification_send(
        recipient_id=video.owner_id,
        type=Type.LIKED,
        actor_id=actor_id,
        target_kind="video",
        target_id=video_id,
    )
    return LikeState(liked=True, likes=likes, changed=True)


@transaction.atomic
def like_delete(*, actor_id: UUID, video_id: UUID) -> LikeState:
    """Take one's like back; unliking what one does not like is harmless. Works on any video the
    member may see, a draft too (a post unposted keeps its likes)."""
    video_ref_visible(viewer_id=actor_id, video_id=video_id)
    deleted, _ = Like.objects.filter(user_id=actor_id, video_id=video_id).delete()
    if not deleted:
        return LikeState(liked=False, likes=_counter_read(video_id, "likes"), changed=False)
    return LikeState(liked=False, likes=_counter_add(video_id, "likes", -deleted), changed=True)


def likers_of(*, viewer_id: UUID, video_id: UUID) -> QuerySet[Like]:
    """The likes of a video the viewer may see, with their members (newest first as `CursorPage`
    orders them), leaving out deactivated members and anyone blocked either way with the viewer."""
    video_ref_visible(viewer_id=viewer_id, video_id=video_id)
    return (
        Like.objects.filter(video_id=video_id, user__is_active=True)
        .exclude(user_id__in=block_partner_ids(user_id=viewer_id))
        .select_related("user__profile")
    )


# --- comments: reads ----------------------------------------------------------------------------


def _readable(viewer_id: UUID) -> Q:
    """Comments whose author, and whose thread's author for a reply, the viewer may see."""
    partners = block_partner_ids(user_id=viewer_id)
    author = Q(author__is_active=True, removed_at__isnull=True) & ~Q(author_id__in=partners)
    thread = Q(parent__isnull=True) | (
        Q(parent__author__is_active=True, parent__removed_at__isnull=True)
        & ~Q(parent__author_id__in=partners)
    )
    return author & thread


def _by_readable_authors(viewer_id: UUID) -> QuerySet[Comment]:
    """Comments whose own author the viewer may see: enough for a thread's replies, or for top-level
    comments, once the thread or the video is known to be readable."""
    partners = block_partner_ids(user_id=viewer_id)
    return Comment.objects.filter(author__is_active=True, removed_at__isnull=True).exclude(
        author_id__in=partners
    )


def comments_visible_to(*, viewer_id: UUID) -> QuerySet[Comment]:
    """Every comment the viewer may read, on any video they may see."""
    videos = videos_visible_to(viewer_id=viewer_id).values("id")
    return Comment.objects.filter(_readable(viewer_id), video_id__in=videos)


def _mentions_of_comment(viewer_id: UUID) -> Coalesce:
    """The comment's mentions as one JSON list, [{written_as, user: {id, username}}] (the shape of a
    caption's), in the comment's own query; members deactivated or blocked either way with the
    viewer are left out."""
    mentions = (
        Mention.objects.filter(comment_id=OuterRef("id"), user__is_active=True)
        .exclude(user_id__in=block_partner_ids(user_id=viewer_id))
        .values("comment_id")
        .annotate(
            items=JSONBAgg(
                JSONObject(written_as="written_as", user=JSONObject(id="user_id", username="user__username")),
                order_by="id",
            )
        )
        .values("items")
    )
    return Coalesce(Subquery(mentions), Value([], output_field=JSONField()))


def comment_cards(comments: QuerySet[Comment], *, viewer_id: UUID) -> QuerySet[Comment]:
    """What a comment shows, in the comments' own query: the author's card, the mentions, and the
    video's owner (who may delete it) and state (see `video_of`)."""
    return comments.select_related("author__profile").annotate(
        mention_list=_mentions_of_comment(viewer_id),
        video_owner_id=F("video__owner_id"),
        video_state=F("video__state"),
    )


def video_of(comment: Comment) -> VideoRef:
    """The video of a comment read through `comment_cards`, without reading the video again."""
    owner_id, state = comment.video_owner_id, comment.video_state  # type: ignore[attr-defined]
    return VideoRef(video_id=comment.video_id, owner_id=owner_id, state=state)


def thread_cards(comments: QuerySet[Comment], *, viewer_id: UUID) -> QuerySet[Comment]:
    """Top-level comments as cards, each with the count of replies the viewer may read and the first
    REPLIES_PREVIEW of them (`replies_preview`): one query for the page, one for all the previews."""
    counted = (
        _by_readable_authors(viewer_id)
        .filter(parent_id=OuterRef("id"))
        .order_by()
        .values("parent_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    first = comment_cards(_by_readable_authors(viewer_id), viewer_id=viewer_id).order_by("created_at", "id")
    return (
        comment_cards(comments, viewer_id=viewer_id)
        .annotate(replies_count=Coalesce(Subquery(counted), 0))
        .prefetch_related(Prefetch("replies", queryset=first[:REPLIES_PREVIEW], to_attr="replies_preview"))
    )


def threads_of(*, viewer_id: UUID, video_id: UUID) -> QuerySet[Comment]:
    """The top-level comments of a video the viewer may see (404 otherwise), as cards."""
    video_ref_visible(viewer_id=viewer_id, video_id=video_id)
    top = _by_readable_authors(viewer_id).filter(video_id=video_id, parent__isnull=True)
    return thread_cards(top, viewer_id=viewer_id)


def thread_get(*, viewer_id: UUID, comment_id: UUID) -> Comment:
    """A top-level comment the viewer may read, as `thread_cards` shows it (404 otherwise)."""
    threads = thread_cards(comments_visible_to(viewer_id=viewer_id), viewer_id=viewer_id)
    thread = threads.filter(id=comment_id, parent__isnull=True).first()
    if thread is None:
        raise KinoError(errors.COMMENT_NOT_FOUND)
    return thread


def comment_get_for_viewer(*, viewer_id: UUID, comment_id: UUID) -> Comment:
    """A comment the viewer may read, as a card; 404 `comment_not_found` otherwise (unknown, on a
    video they may not see, or by a member hidden from them)."""
    found = comment_cards(comments_visible_to(viewer_id=viewer_id), viewer_id=viewer_id).filter(id=comment_id)
    comment = found.first()
    if comment is None:
        raise KinoError(errors.COMMENT_NOT_FOUND)
    return comment


def reply_target(*, viewer_id: UUID, comment_id: UUID) -> Comment:
    """A comment the viewer may reply to: one they may read (404 otherwise) on a post (409
    `video_not_posted` once its video went back to the drafts)."""
    target = comment_get_for_viewer(viewer_id=viewer_id, comment_id=comment_id)
    if video_of(target).state != State.POSTED:
        raise KinoError(errors.VIDEO_NOT_POSTED)
    return target


def replies_of(*, viewer_id: UUID, comment_id: UUID) -> QuerySet[Comment]:
    """The replies of a thread the viewer may read, as cards. For a reply, the replies of its thread
    (where a reply to it goes)."""
    comment = comment_get_for_viewer(viewer_id=viewer_id, comment_id=comment_id)
    thread_id = comment.parent_id or comment.id
    return comment_cards(_by_readable_authors(viewer_id).filter(parent_id=thread_id), viewer_id=viewer_id)


# --- comments: writes ---------------------------------------------------------------------------


def _thread_hold(thread_id: UUID) -> bool:
    """Hold the thread's row until the reply commits (a deletion waits, then removes the reply too);
    False when it is already gone."""
    table = Comment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [thread_id])  # noqa: S608
        return cursor.fetchone() is not None


def _author_of(comment_id: UUID) -> UUID:
    author_id = Comment.objects.filter(id=comment_id).values_list("author_id", flat=True).first()
    if author_id is None:
        raise KinoError(errors.COMMENT_NOT_FOUND)
    return author_id


def _notify(comment: Comment, sends: list[tuple[UUID, str]], data: dict[str, str]) -> None:
    """Tell each member of `sends` of the new comment once: those it mentions have heard already
    (`mentioned`), and a member named twice hears the first type."""
    told = set(Mention.objects.filter(comment=comment).values_list("user_id", flat=True))
    for recipient_id, type in sends:
        if recipient_id in told:
            continue
        told.add(recipient_id)
        notification_send(
            recipient_id=recipient_id,
            type=type,
            actor_id=comment.author_id,
            target_kind="comment",
            target_id=comment.id,
            data={**data, "comment_id": str(comment.id), "excerpt": comment.body[:EXCERPT_CHARS]},
        )


@transaction.atomic
def comment_create(*, actor_id: UUID, video_id: UUID, body: str) -> Comment:
    """A top-level comment on a post the actor may see. The post's owner hears of it (`commented`),
    the members it @mentions too (`mentioned`), each once."""
    video = video_ref_for_reaction(viewer_id=actor_id, video_id=video_id)
    text_require(body, kind="comment", field="body", author_id=actor_id)
    _members_hold(actor_id, video.owner_id)
    comment = Comment.objects.create(video_id=video_id, author_id=actor_id, body=body)
    _counter_add(video_id, "comments", +1)
    mentions_record(author_id=actor_id, text=body, comment=comment)
    _notify(comment, [(video.owner_id, Type.COMMENTED)], {"video_id": str(video_id)})
    logger.info("comment.created", extra={"comment_id": str(comment.id), "video_id": str(video_id)})
    return comment


@transaction.atomic
def reply_create(*, actor_id: UUID, comment_id: UUID, body: str) -> Comment:
    """A reply to a comment the actor may read. Replies have one level: a reply to a reply joins the
    thread of the top-level comment. The member replied to hears `replied`; the post's owner
    `commented` (unless they are the one replied to); mentioned members `mentioned`; each once."""
    target = reply_target(viewer_id=actor_id, comment_id=comment_id)
    video = video_of(target)
    text_require(body, kind="comment", field="body", author_id=actor_id)
    thread_id = target.parent_id or target.id
    thread_author_id = target.author_id if target.parent_id is None else _author_of(thread_id)
    held = (actor_id, video.owner_id, target.author_id, thread_author_id)
    _members_hold(*held, missing=errors.COMMENT_NOT_FOUND)
    if not _thread_hold(thread_id):
        raise KinoError(errors.COMMENT_NOT_FOUND)
    reply = Comment.objects.create(
        video_id=video.video_id, author_id=actor_id, parent_id=thread_id, body=body
    )
    _counter_add(video.video_id, "comments", +1)
    mentions_record(author_id=actor_id, text=body, comment=reply)
    data = {"video_id": str(video.video_id), "thread_id": str(thread_id), "in_reply_to": str(target.id)}
    _notify(reply, [(target.author_id, Type.REPLIED), (video.owner_id, Type.COMMENTED)], data)
    logger.info("comment.replied", extra={"comment_id": str(reply.id), "thread_id": str(thread_id)})
    return reply


def comment_get_for_edit(*, actor_id: UUID, comment_id: UUID, for_update: bool = False) -> Comment:
    """A comment the actor wrote and may still read (404 as for anyone else's hidden comment; 403
    `comment_edit_denied` for someone else's comment they can read)."""
    comments = comments_visible_to(viewer_id=actor_id)
    if for_update:
        comments = comments.select_for_update(no_key=True, of=("self",))
    comment = comments.filter(id=comment_id).first()
    if comment is None:
        raise KinoError(errors.COMMENT_NOT_FOUND)
    if comment.author_id != actor_id:
        raise KinoError(errors.COMMENT_EDIT_DENIED)
    return comment


@transaction.atomic
def comment_update(*, actor_id: UUID, comment_id: UUID, body: str) -> Comment:
    """The author rewrites their comment: marked edited, its mentions follow the new text (members
    newly mentioned hear of it). The same text again changes nothing."""
    comment = comment_get_for_edit(actor_id=actor_id, comment_id=comment_id, for_update=True)
    text_require(body, kind="comment", field="body", author_id=actor_id)
    if body == comment.body:
        return comment
    comment.body, comment.edited_at = body, timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    mentions_record(author_id=actor_id, text=body, comment=comment)
    return comment


def comments_counted(comment: Comment) -> int:
    """How many of the comment and its replies the video's counter holds: none of a comment taken
    down (nor its replies, hidden with it), nor of a reply whose thread is taken down."""
    if comment.removed_at is not None:
        return 0
    if comment.parent_id is not None:
        return int(Comment.objects.filter(id=comment.parent_id, removed_at__isnull=True).exists())
    return 1 + Comment.objects.filter(parent_id=comment.id, removed_at__isnull=True).count()


@transaction.atomic
def comment_take_down(*, comment_id: UUID) -> bool:
    """A moderator hides a comment (and so its replies) until restored; False when it is not there or
    already taken down. Its notifications stay: they lead to a comment that reads as not found."""
    comment = Comment.objects.select_for_update(of=("self",)).filter(id=comment_id).first()
    if comment is None or comment.removed_at is not None:
        return False
    _counter_add(comment.video_id, "comments", -comments_counted(comment))
    comment.removed_at = timezone.now()
    comment.save(update_fields=["removed_at"])
    return True


@transaction.atomic
def comment_restore(*, comment_id: UUID) -> bool:
    """Undo a takedown: the comment and its replies read and count again."""
    comment = Comment.objects.select_for_update(of=("self",)).filter(id=comment_id).first()
    if comment is None or comment.removed_at is None:
        return False
    comment.removed_at = None
    comment.save(update_fields=["removed_at"])
    _counter_add(comment.video_id, "comments", comments_counted(comment))
    return True


def _comment_for_delete(actor_id: UUID, comment_id: UUID) -> Comment:
    """The comment locked, when the actor may read it, or it is on a video of theirs: a post's owner
    may remove comments from it even by someone they have since blocked."""
    on_own_video = Q(video__owner_id=actor_id, video__state__in=[State.DRAFT, State.POSTED])
    readable = Q(id__in=comments_visible_to(viewer_id=actor_id).filter(id=comment_id).values("id"))
    comment = (
        Comment.objects.select_for_update(of=("self",))
        .select_related("video")
        .filter(on_own_video | readable, id=comment_id)
        .first()
    )
    if comment is None:
        raise KinoError(errors.COMMENT_NOT_FOUND)
    return comment


@transaction.atomic
def comment_delete(*, actor_id: UUID, comment_id: UUID) -> int:
    """Delete a comment (its author, or the owner of the post it is on); a top-level comment takes its
    replies with it, and the notifications they caused. Answers how many comments went."""
    comment = _comment_for_delete(actor_id, comment_id)
    if actor_id not in (comment.author_id, comment.video.owner_id):
        raise KinoError(errors.COMMENT_DELETE_DENIED)
    # The row is locked: a reply in flight has committed (and is listed here) or will find it gone.
    ids = [comment.id, *Comment.objects.filter(parent_id=comment.id).values_list("id", flat=True)]
    counted = comments_counted(comment)
    _, deleted = Comment.objects.filter(id=comment.id).delete()
    removed = deleted.get(Comment._meta.label, 0)
    _counter_add(comment.video_id, "comments", -counted)
    NotificationGroup.objects.filter(target_kind="comment", target_id__in=ids).delete()
    logger.info("comment.deleted", extra={"comment_id": str(comment_id), "removed": removed})
    return removed
