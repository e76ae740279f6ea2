"""Extension points that apps above `accounts` plug into, so the arrows keep pointing one way.

An upper app registers its function from its `AppConfig.ready`; `accounts` (and every app
above it, which may import `accounts.public`) calls the hook without knowing who answers.

- Member text and image checks: `moderation` refuses public figures' names and what its
  policy refuses in usernames, display names and bios, and public figures' faces in avatars;
  `accounts` never imports `moderation`.
- Member files: apps that store files for a member name them when the member is deleted.
- Standing: a member deactivated or active again; the recommender takes their posts out of feeds
  and search meanwhile.
- Follows: `feed` stores a "followed" notification for each new follow.
- Export parts: each app adds its part of a member's data export (accounts: the profile, the
  avatar, follows and blocks; feed: videos, comments, likes, notifications; later cameos).
- Work stops: an app below `generation` (cameos revoking consent, moderation banning a
  member, feed removing a video) stops the queued and running jobs that depend on
  something, without importing `generation`, which registers the stopper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from uuid import UUID

from django.db import connection

from config.errors import ErrorCode

MemberTextKind = Literal["username", "display_name", "bio"]
MemberImageKind = Literal["avatar"]


@dataclass(frozen=True)
class Refusal:
    error: ErrorCode  # e.g. moderation's `text_refused`, `image_refused`
    message: str = ""  # the code's own message when empty


MemberTextCheck = Callable[[str, MemberTextKind], Refusal | None]
MemberImageCheck = Callable[[bytes, MemberImageKind], Refusal | None]
_text_checks: list[MemberTextCheck] = []
_image_checks: list[MemberImageCheck] = []


def member_text_check_register(check: MemberTextCheck) -> MemberTextCheck:
    """`moderation` refuses public figures' names and what its text policy refuses, in usernames,
    display names and bios (accounts never imports it)."""
    if check not in _text_checks:
        _text_checks.append(check)
    return check


def member_text_check_unregister(check: MemberTextCheck) -> None:
    if check in _text_checks:
        _text_checks.remove(check)


def member_text_checks_run(text: str, kind: MemberTextKind) -> Refusal | None:
    for check in _text_checks:
        refusal = check(text, kind)
        if refusal is not None:
            return refusal
    return None


def member_image_check_register(check: MemberImageCheck) -> MemberImageCheck:
    """`moderation` refuses an avatar with a public figure's face (the sanitized image's bytes)."""
    if check not in _image_checks:
        _image_checks.append(check)
    return check


def member_image_check_unregister(check: MemberImageCheck) -> None:
    if check in _image_checks:
        _image_checks.remove(check)


def member_image_checks_run(image: bytes, kind: MemberImageKind) -> Refusal | None:
    for check in _image_checks:
        refusal = check(image, kind)
        if refusal is not None:
            return refusal
    return None


# --- a member's files ---------------------------------------------------------------

# Every app that stores files for a member names them (storage names) when the member is
# deleted; accounts deletes them all once the deletion commits.
MemberFiles = Callable[[UUID], list[str]]
_member_files: list[MemberFiles] = []


def member_files_register(files: MemberFiles) -> MemberFiles:
    if files not in _member_files:
        _member_files.append(files)
    return files


def member_files_collect(user_id: UUID) -> list[str]:
    return [name for files in _member_files for name in files(user_id)]


# Called inside a member's deletion, their row locked, just before it goes: an app takes the member's
# part out of what stays (feed: counters of other people's posts) and deletes rows that name the
# member without a foreign key.
MemberLeaving = Callable[[UUID], None]
_member_leaving: list[MemberLeaving] = []


def member_leaving_register(leaving: MemberLeaving) -> MemberLeaving:
    if leaving not in _member_leaving:
        _member_leaving.append(leaving)
    return leaving


def member_leaving_run(user_id: UUID) -> None:
    for leaving in _member_leaving:
        leaving(user_id)


# --- work stops ------------------------------------------------------------------

# What the work depends on: a member (every job they asked for) or a video (the jobs remixing it:
# feed stops them when the video is taken down). The cameos issue adds "cameo" (the jobs casting
# it), teaching generation to find them.
StopSubject = Literal["user", "video", "cameo"]


@dataclass(frozen=True)
class WorkStop:
    subject: StopSubject
    subject_id: UUID
    error: ErrorCode  # what the owner of a stopped job reads, e.g. `cameo_consent_revoked`
    member_id: UUID | None = None  # only this member's work (a cameo approval revoked from one member)


WorkStopper = Callable[[WorkStop], int]  # returns how many pieces of work it stopped
_work_stoppers: list[WorkStopper] = []


def work_stopper_register(stopper: WorkStopper) -> WorkStopper:
    if stopper not in _work_stoppers:
        _work_stoppers.append(stopper)
    return stopper


def work_stop(stop: WorkStop) -> int:
    """Stop all work that depends on `stop.subject`: queued work never starts, running work ends at
    its next step. Call it inside the transaction that makes the change (the revocation, the ban):
    the stoppers write in the same transaction, so both commit or neither does."""
    if not connection.in_atomic_block:
        raise RuntimeError("work_stop belongs inside the transaction that makes the change")
    return sum(stopper(stop) for stopper in _work_stoppers)


# --- standing ------------------------------------------------------------------

# Called inside the transaction that deactivates a member (a ban, the admin) or makes them active
# again (an appeal granted, a restore): (user_id, active). Rows that follow the member's standing
# without a foreign key listen (the recommender: their posts leave feeds and search meanwhile).
StandingListener = Callable[[UUID, bool], None]
_standing_listeners: list[StandingListener] = []


def standing_listener_register(listener: StandingListener) -> StandingListener:
    if listener not in _standing_listeners:
        _standing_listeners.append(listener)
    return listener


def standing_listeners_run(user_id: UUID, active: bool) -> None:
    for listener in _standing_listeners:
        listener(user_id, active)


# --- follows ---------------------------------------------------------------------

# Called inside the transaction that creates a follow (follower_id, followee_id), once per
# FOLLOW_NOTIFY_WINDOW_S for one pair.
FollowListener = Callable[[UUID, UUID], None]
_follow_listeners: list[FollowListener] = []


def follow_listener_register(listener: FollowListener) -> FollowListener:
    if listener not in _follow_listeners:
        _follow_listeners.append(listener)
    return listener


def follow_listeners_run(follower_id: UUID, followee_id: UUID) -> None:
    for listener in _follow_listeners:
        listener(follower_id, followee_id)


# --- data export ------------------------------------------------------------------


class ExportSink(Protocol):
    """Where an export part writes: files inside the member's zip."""

    def write_json(self, name: str, value: Any) -> None: ...

    def write_file(self, name: str, storage_name: str) -> None: ...


@dataclass(frozen=True)
class ExportPart:
    name: str  # the part's folder in the zip, e.g. "profile", "videos"
    write: Callable[[UUID, ExportSink], None]  # writes everything of the member's it owns


_export_parts: dict[str, ExportPart] = {}


def export_part_register(part: ExportPart) -> ExportPart:
    _export_parts[part.name] = part
    return part


def export_parts() -> list[ExportPart]:
    return list(_export_parts.values())


# --- signup topics ----------------------------------------------------------------

# The topics a new member picked at signup (optional, already checked by the signup form: up to
# SIGNUP_TOPICS_MAX of 1-SIGNUP_TOPIC_MAX characters): the recommender starts their feed from them.
# Called once the account exists, outside its transaction.
SIGNUP_TOPICS_MAX = 10
SIGNUP_TOPIC_MAX = 40
SignupTopicsListener = Callable[[UUID, list[str]], None]
_signup_topics: list[SignupTopicsListener] = []


def signup_topics_register(listener: SignupTopicsListener) -> SignupTopicsListener:
    if listener not in _signup_topics:
        _signup_topics.append(listener)
    return listener


def signup_topics_run(user_id: UUID, topics: list[str]) -> None:
    for listener in _signup_topics:
        listener(user_id, topics)
