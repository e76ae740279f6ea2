"""What moderation acts on but does not own: videos and comments (feed), cameos (cameos), members
(accounts). Moderation sits below feed and cameos, so those apps register a `SubjectHandler` for
their kinds in their AppConfig.ready (feed: "video" and "comment", feed/moderation.py); "user" is
handled here through accounts.public. A kind nobody handles yet (a cameo before the cameos app
registers one) is unknown: a report on it answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

GONE = "gone"  # the state of an object that no longer exists (or whose kind nobody handles)


@dataclass(frozen=True)
class SubjectView:
    """An object as a moderator (viewer None) or a reporter sees it."""

    kind: str
    id: UUID
    owner_id: UUID | None  # the person a decision on it affects
    title: str = ""  # one line: "Video by @alice", "Comment by @bob"
    text: str = ""  # the caption, the comment's body, the bio
    video_url: str = ""  # signed, short-lived links (moderators only)
    poster_url: str = ""
    reach: int = 0  # its audience: views + likes + remixes of a video, followers of a member
    state: str = ""  # the owner app's word for where it stands ("posted", "removed", "hidden", "active")
    # Other subjects whose automatic verdicts belong on its page: a video's generation job (screened
    # before the video existed).
    related: tuple[tuple[str, UUID], ...] = ()


@dataclass(frozen=True)
class SubjectHandler:
    """How moderation reads and acts on one kind of object.

    `describe(subject_id, viewer_id)`: the view, or None when it does not exist or the viewer may
    not see it (viewer None: a moderator, who sees removed objects too). `take_down(subject_id,
    moderator_id, reason)` and `restore(subject_id, moderator_id)` are idempotent. `poster(subject_id)`
    gives an image of the subject (a video's poster) for registering a likeness, or None.
    """

    describe: Callable[[UUID, UUID | None], SubjectView | None]
    take_down: Callable[[UUID, UUID | None, str], None]
    restore: Callable[[UUID, UUID | None], None]
    poster: Callable[[UUID], bytes | None] | None = None


_HANDLERS: dict[str, SubjectHandler] = {}


def subject_handler_register(kind: str, handler: SubjectHandler) -> None:
    """Called from an upper app's AppConfig.ready; registering a kind again replaces its handler."""
    _HANDLERS[kind] = handler


def subject_handler(kind: str) -> SubjectHandler | None:
    return _HANDLERS.get(kind)


def subject_describe(kind: str, subject_id: UUID, viewer_id: UUID | None) -> SubjectView | None:
    handler = _HANDLERS.get(kind)
    return None if handler is None else handler.describe(subject_id, viewer_id)


# --- members: handled here, through accounts.public -------------------------------------------


def _member_describe(user_id: UUID, viewer_id: UUID | None) -> SubjectView | None:
    from accounts.public import member_standing, members_for_viewer

    if viewer_id is not None:
        member = members_for_viewer(user_ids=[user_id], viewer_id=viewer_id).get(user_id)
        if member is None:  # unknown, deactivated or blocked either way: the same 404
            return None
        username, active = member.username, True
    else:
        standing = member_standing(user_id=user_id)
        if standing is None:
            return None
        member = members_for_viewer(user_ids=[user_id], viewer_id=user_id).get(user_id)
        username, active = standing.username, standing.is_active
    profile = getattr(member, "profile", None) if member is not None else None
    followers = member.follower_edges.count() if member is not None else 0
    return SubjectView(
        kind="user",
        id=user_id,
        owner_id=user_id,
        title=f"@{username}",
        text=(profile.bio if profile else "") or "",
        reach=followers,
        state="active" if active else "inactive",
    )


def _member_take_down(user_id: UUID, moderator_id: UUID | None, reason: str) -> None:
    """A member "taken down" is deactivated: jobs stopped, tokens revoked, sockets closed."""
    from django.contrib.auth import get_user_model

    from accounts.public import member_deactivate

    user = get_user_model().objects.filter(id=user_id).first()
    if user is not None and user.is_active:
        member_deactivate(user=user)


def _member_restore(user_id: UUID, moderator_id: UUID | None) -> None:
    """Active again; their revoked sessions stay revoked (they sign in afresh)."""
    from accounts.public import member_reactivate

    member_reactivate(user_id=user_id)


_HANDLERS["user"] = SubjectHandler(
    describe=_member_describe, take_down=_member_take_down, restore=_member_restore
)
