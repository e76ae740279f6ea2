"""The accounts app's parts of a member's data export: the profile and avatar, follows, blocks.

Only what the member made or gave: who they follow and who follows them (both are their social
graph), and whom they blocked. Who blocked *them* is the other person's data and stays out.
"""

from __future__ import annotations

import posixpath
from typing import Any
from uuid import UUID

from accounts.hooks import ExportPart, ExportSink, export_part_register
from accounts.models import Block, Follow, Profile, User


def _profile_write(user_id: UUID, sink: ExportSink) -> None:
    user = User.objects.filter(id=user_id).first()
    if user is None:
        return  # deleted while its export ran: the export is abandoned at its next step
    profile = Profile.objects.filter(user_id=user_id).first()
    sink.write_json(
        "profile.json",
        {
            "id": user.id,
            "username": user.username,
            "email": user.email,
            "birthdate": user.birthdate,
            "display_name": profile.display_name if profile else "",
            "bio": profile.bio if profile else "",
            "created_at": user.created_at,
            "updated_at": user.updated_at,
            "last_login": user.last_login,
        },
    )
    if profile is not None and profile.avatar.name:
        extension = posixpath.splitext(profile.avatar.name)[1].lower() or ".jpg"
        sink.write_file(f"avatar{extension}", profile.avatar.name)


def _edges(rows: Any, username_field: str) -> list[dict[str, Any]]:
    return [{"username": row[username_field], "since": row["created_at"]} for row in rows]


def _follows_write(user_id: UUID, sink: ExportSink) -> None:
    following = Follow.objects.filter(follower_id=user_id).order_by("created_at", "id")
    followers = Follow.objects.filter(followee_id=user_id).order_by("created_at", "id")
    sink.write_json(
        "follows.json",
        {
            "following": _edges(following.values("followee__username", "created_at"), "followee__username"),
            "followers": _edges(followers.values("follower__username", "created_at"), "follower__username"),
        },
    )


def _blocks_write(user_id: UUID, sink: ExportSink) -> None:
    blocking = Block.objects.filter(blocker_id=user_id).order_by("created_at", "id")
    sink.write_json(
        "blocks.json",
        {"blocking": _edges(blocking.values("blocked__username", "created_at"), "blocked__username")},
    )


PARTS = (
    ExportPart(name="profile", write=_profile_write),
    ExportPart(name="follows", write=_follows_write),
    ExportPart(name="blocks", write=_blocks_write),
)


def export_parts_register() -> None:
    """Called from AccountsConfig.ready."""
    for part in PARTS:
        export_part_register(part)
