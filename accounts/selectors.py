"""Reads of the accounts app. Every lookup by a client-supplied name goes through here, scoped by blocks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Value, When

from accounts import errors
from accounts.models import Block, Follow, Invite, User, invite_code_normalize
from config.errors import KinoError


@dataclass(frozen=True)
class Standing:
    """What other apps may know of a member: enough to decide what they may do."""

    user_id: UUID
    username: str
    is_active: bool
    is_teen: bool
    groups: frozenset[str]


def member_standing(*, user_id: UUID) -> Standing | None:
    """The member's standing now (None for a deleted account), in one query."""
    named = ArrayAgg("groups__name", filter=Q(groups__isnull=False), default=Value([]))
    user = User.objects.filter(id=user_id).annotate(group_names=named).first()
    if user is None:
        return None
    return Standing(
        user_id=user.id,
        username=user.username,
        is_active=user.is_active,
        is_teen=user.is_teen,
        groups=frozenset(user.group_names),
    )


def blocked_user_ids(*, user: User) -> QuerySet:
    """Ids of everyone `user` blocked or was blocked by: hidden from each other everywhere."""
    return User.objects.filter(Q(blocked_by_edges__blocker=user) | Q(blocking_edges__blocked=user)).values(
        "id"
    )


def block_partner_ids(*, user_id: UUID) -> QuerySet:
    """The same as `blocked_user_ids`, by id: a subquery for other apps' filters
    (`.exclude(owner_id__in=block_partner_ids(user_id=…))`), so hiding blocked people costs no query.
    One scan of the member's block edges, naming the other side of each (cheap to build and to run:
    every list of the feed carries it, some twice)."""
    other = Case(When(blocker_id=user_id, then=F("blocked_id")), default=F("blocker_id"))
    return (
        Block.objects.filter(Q(blocker_id=user_id) | Q(blocked_id=user_id))
        .annotate(other=other)
        .values("other")
    )


def blocked_either_way(*, a_id: UUID, b_id: UUID) -> bool:
    return Block.objects.filter(
        Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)
    ).exists()


def member_ids_by_username(*, usernames: list[str], viewer_id: UUID) -> dict[str, UUID]:
    """Active members by (lowercase) username, leaving out anyone blocked either way with the viewer:
    one query, for resolving @mentions."""
    wanted = {name.lower() for name in usernames}
    members = (
        User.objects.filter(username__in=wanted, is_active=True)
        .exclude(id__in=block_partner_ids(user_id=viewer_id))
        .values_list("username", "id")
    )
    return dict(members)


def username_exists(*, username: str) -> bool:
    """Whether any account (active or not, blocked or not) holds `username`: a name other apps must
    not hand out (cameos' character handles share the namespace)."""
    return User.objects.filter(username__iexact=username).exists()


def member_id_for_viewer(*, viewer_id: UUID, username: str) -> UUID:
    """The id of the member named `username`, as `user_get_for_viewer` finds them (404
    `user_not_found` for an unknown, deactivated or blocked-either-way name), for other apps' lists."""
    member_id = (
        User.objects.filter(username=username.strip().lower(), is_active=True)
        .exclude(id__in=block_partner_ids(user_id=viewer_id))
        .values_list("id", flat=True)
        .first()
    )
    if member_id is None:
        raise KinoError(errors.USER_NOT_FOUND)
    return member_id


def members_for_viewer(*, user_ids: Iterable[UUID], viewer_id: UUID) -> dict[UUID, User]:
    """Active members by id, with their profiles, leaving out anyone blocked either way with the
    viewer: one query for all the member cards of a page (`MemberSerializer` takes the values)."""
    members = (
        User.objects.filter(id__in=set(user_ids), is_active=True)
        .exclude(id__in=block_partner_ids(user_id=viewer_id))
        .select_related("profile")
    )
    return {member.id: member for member in members}


def user_get_for_viewer(*, actor: User, username: str) -> User:
    """A member `actor` may see, or 404: unknown, deactivated and blocked (either way) look the same."""
    user = (
        User.objects.filter(username=username.strip().lower(), is_active=True)
        .exclude(id__in=blocked_user_ids(user=actor))
        .select_related("profile")
        .first()
    )
    if user is None:
        raise KinoError(errors.USER_NOT_FOUND)
    return user


def user_profile_stats(*, actor: User, user: User) -> dict[str, int | bool]:
    counts = User.objects.filter(id=user.id).aggregate(
        followers=Count("follower_edges", distinct=True), following=Count("following_edges", distinct=True)
    )
    return {
        "followers_count": counts["followers"],
        "following_count": counts["following"],
        "is_following": Follow.objects.filter(follower=actor, followee=user).exists(),
        "follows_you": Follow.objects.filter(follower=user, followee=actor).exists(),
    }


def followers_for_viewer(*, actor: User, user: User) -> QuerySet[Follow]:
    hidden = blocked_user_ids(user=actor)
    return (
        Follow.objects.filter(followee=user, follower__is_active=True)
        .exclude(follower_id__in=hidden)
        .select_related("follower__profile")
    )


def following_for_viewer(*, actor: User, user: User) -> QuerySet[Follow]:
    hidden = blocked_user_ids(user=actor)
    return (
        Follow.objects.filter(follower=user, followee__is_active=True)
        .exclude(followee_id__in=hidden)
        .select_related("followee__profile")
    )


def mutuals_of(*, user: User) -> QuerySet[Follow]:
    """People `user` follows who follow back, as `user`'s outgoing follow edges."""
    follows_back = Follow.objects.filter(follower=OuterRef("followee"), followee=user)
    return (
        Follow.objects.filter(follower=user, followee__is_active=True)
        .filter(Exists(follows_back))
        .select_related("followee__profile")
    )


def blocks_of(*, user: User) -> QuerySet[Block]:
    return Block.objects.filter(blocker=user).select_related("blocked__profile")


def invites_of(*, user: User) -> QuerySet[Invite]:
    return Invite.objects.filter(created_by=user).select_related("redeemed_by")


def invite_get_by_code(*, code: str) -> Invite:
    invite = Invite.objects.filter(code=invite_code_normalize(code)).first()
    if invite is None:
        raise KinoError(errors.INVITE_NOT_FOUND)
    return invite
