"""Every list endpoint makes as many queries for ten rows as for one (no query per row).

The list endpoints are found in the schema, so a new one fails here until it has a row builder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Invite, User
from feed.models import Mention, Notification, NotificationGroup, Video
from feed.notifications import notification_send
from tests import openapi
from tests.factories import (
    BlockFactory,
    CommentFactory,
    FollowFactory,
    InviteFactory,
    JobFactory,
    LikeFactory,
    PostFactory,
    UserFactory,
    VideoCameoFactory,
    VideoFactory,
)
from tests.moderation.casework import a_decision_about

pytestmark = pytest.mark.django_db

# Authentication, the page, and a lookup or two; never one per row.
MAX_QUERIES = 4


@dataclass(frozen=True)
class Listing:
    path_values: dict[str, str]
    add_rows: Callable[[int], object]  # adds that many rows that the viewer sees in the list
    query: str = ""  # the query string a list needs (search's `q=`)


def my_generations(viewer: User) -> Listing:
    return Listing({}, lambda n: JobFactory.create_batch(n, user=viewer))


def my_drafts(viewer: User) -> Listing:
    return Listing({}, lambda n: VideoFactory.create_batch(n, owner=viewer))


def my_invites(viewer: User) -> Listing:
    # Redeemed ones, so that the name of whoever redeemed each is part of the page.
    def add(n: int) -> None:
        for _ in range(n):
            InviteFactory(
                created_by=viewer,
                source=Invite.Source.MEMBER,
                redeemed_by=UserFactory(),
                redeemed_at=timezone.now(),
            )

    return Listing({}, add)


def my_mutuals(viewer: User) -> Listing:
    def add(n: int) -> None:
        for friend in UserFactory.create_batch(n):
            FollowFactory(follower=viewer, followee=friend)
            FollowFactory(follower=friend, followee=viewer)

    return Listing({}, add)


def my_blocks(viewer: User) -> Listing:
    return Listing({}, lambda n: BlockFactory.create_batch(n, blocker=viewer))


def someones_followers(viewer: User) -> Listing:
    someone = UserFactory()
    return Listing({"username": someone.username}, lambda n: FollowFactory.create_batch(n, followee=someone))


def whom_someone_follows(viewer: User) -> Listing:
    someone = UserFactory()
    return Listing({"username": someone.username}, lambda n: FollowFactory.create_batch(n, follower=someone))


def my_notifications(viewer: User) -> Listing:
    # Likes of different posts: one group each, with its liker and its post's summary on the page.
    def add(n: int) -> None:
        for liker in UserFactory.create_batch(n):
            post = PostFactory(owner=viewer)
            notification_send(
                recipient_id=viewer.id,
                type="liked",
                actor_id=liker.id,
                target_kind="video",
                target_id=post.id,
            )

    return Listing({}, add)


def actors_of_my_notification(viewer: User) -> Listing:
    group = NotificationGroup.objects.create(recipient=viewer, type="liked", group_key="likes-of-a-post")
    return Listing(
        {"group_id": str(group.id)},
        lambda n: [
            Notification.objects.create(group=group, actor=liker) for liker in UserFactory.create_batch(n)
        ],
    )


def ancestors_of_a_remix(viewer: User) -> Listing:
    # Each new row becomes the oldest ancestor (the new root) of the same remix.
    remix = PostFactory()

    def add(n: int) -> None:
        roots = [post.id for post in PostFactory.create_batch(n)]
        path = [*roots, *Video.objects.values_list("lineage", flat=True).get(id=remix.id)]
        Video.objects.filter(id=remix.id).update(lineage=path, depth=len(path))

    return Listing({"video_id": str(remix.id)}, add)


def remixes_of_a_post(viewer: User) -> Listing:
    original = PostFactory()
    return Listing({"video_id": str(original.id)}, lambda n: PostFactory.create_batch(n, parent=original))


def likers_of_a_post(viewer: User) -> Listing:
    post = PostFactory()
    return Listing({"video_id": str(post.id)}, lambda n: LikeFactory.create_batch(n, video=post))


def comments_on_a_post(viewer: User) -> Listing:
    # Each with a reply (the previews) and a mention (the links), by members with profiles.
    post = PostFactory()

    def add(n: int) -> None:
        for top in CommentFactory.create_batch(n, video=post, mentions=[UserFactory()]):
            CommentFactory(parent=top, mentions=[UserFactory()])

    return Listing({"video_id": str(post.id)}, add)


def replies_in_a_thread(viewer: User) -> Listing:
    top = CommentFactory()
    return Listing(
        {"comment_id": str(top.id)},
        lambda n: [CommentFactory(parent=top, mentions=[UserFactory()]) for _ in range(n)],
    )


def posts_on_a_profile(viewer: User) -> Listing:
    # Remixes of a post, each mentioning someone (the card's links) and cast with a cameo of the
    # member: one row set fills every tab of the profile.
    someone, original = UserFactory(), PostFactory()

    def add(n: int) -> None:
        for post in PostFactory.create_batch(n, owner=someone, parent=original):
            Mention.objects.create(video=post, user=UserFactory(), written_as="friend")
            VideoCameoFactory(video=post, cameo_owner=someone)

    return Listing({"username": someone.username}, add)


def my_statements_of_reasons(viewer: User) -> Listing:
    return Listing({}, lambda n: [a_decision_about(viewer) for _ in range(n)])


def my_cameos(viewer: User) -> Listing:
    from tests.cameos.factories import CharacterCameoFactory, RestrictionFactory

    def add(n: int) -> None:
        for cameo in CharacterCameoFactory.create_batch(n, owner=viewer):
            RestrictionFactory(cameo=cameo, text="no alcohol", embedding=[0.0] * 384)

    return Listing({}, add)


def my_cameo_registrations(viewer: User) -> Listing:
    from datetime import timedelta

    from django.utils import timezone

    from cameos.models import Registration

    def add(n: int) -> None:
        for _ in range(n):
            Registration.objects.create(
                owner=viewer,
                head_turns=["left", "right"],
                phrase="1 2 3 4",
                expires_at=timezone.now() + timedelta(minutes=5),
            )

    return Listing({}, add)


def cameos_i_may_use(viewer: User) -> Listing:
    from tests.cameos.factories import CameoFactory

    return Listing({}, lambda n: CameoFactory.create_batch(n, level="everyone"))


def my_cameo_requests(viewer: User) -> Listing:
    from tests.cameos.factories import ApprovalFactory

    return Listing({}, lambda n: ApprovalFactory.create_batch(n, user=viewer, state="requested"))


def requests_for_my_cameo(viewer: User) -> Listing:
    from tests.cameos.factories import ApprovalFactory, CameoFactory

    cameo = CameoFactory(owner=viewer, level="approved")
    return Listing({"cameo_id": str(cameo.id)}, lambda n: ApprovalFactory.create_batch(n, cameo=cameo))


def uses_of_my_cameo(viewer: User) -> Listing:
    from tests.cameos.factories import CameoFactory, UseFactory

    cameo = CameoFactory(owner=viewer, level="everyone")
    return Listing({"cameo_id": str(cameo.id)}, lambda n: UseFactory.create_batch(n, cameo=cameo))


def videos_casting_my_cameo(viewer: User) -> Listing:
    # Drafts and posts by others, each casting the viewer's cameo (the oversight list).
    from tests.cameos.factories import CameoFactory

    cameo = CameoFactory(owner=viewer)

    def add(n: int) -> None:
        for video in [*VideoFactory.create_batch(n - n // 2), *PostFactory.create_batch(n // 2)]:
            VideoCameoFactory(video=video, cameo_id=cameo.id, cameo_owner=viewer)

    return Listing({"cameo_id": str(cameo.id)}, add)


def my_guardian_links(viewer: User) -> Listing:
    # Confirmed links, so each row also reads the teen's switches and today's count.
    from recommender.models import Guardianship

    def add(n: int) -> None:
        today = timezone.localdate()
        for _ in range(n):
            teen = UserFactory(birthdate=today.replace(year=today.year - 15))
            Guardianship.objects.create(guardian=viewer, teen=teen, invited_by="guardian", state="confirmed")

    return Listing({}, add)


def search_results(viewer: User) -> Listing:
    # Members, cameos and posts that all match "lumen": each search list reads its own kind.
    from moderation.public import text_embed
    from recommender.models import VideoVector
    from tests.cameos.factories import CharacterCameoFactory

    def add(n: int) -> None:
        for _ in range(n):
            owner = UserFactory()
            owner.profile.display_name = f"Lumen {owner.username}"
            owner.profile.save()
            CharacterCameoFactory(owner=owner, handle=f"lumen_{owner.username}", level="everyone")
            post = PostFactory(owner=owner, caption=f"a lumen lantern by {owner.username}")
            vector = text_embed([post.caption])[0].tolist()
            VideoVector.objects.create(
                video_id=post.id,
                creator_id=owner.id,
                posted_at=post.posted_at,
                content=vector,
                vector=vector,
                in_feeds=True,
            )

    return Listing({}, add, query="q=lumen")


def my_feed(viewer: User) -> Listing:
    # Posts of as many creators (one each: the creator rules let them all in), with their vector rows.
    # What the viewer was served goes before each read, so every post is new to them; trending is
    # refreshed as the workers do, and the ranker's model read, so both reads find them ready.
    from recommender.models import Impression, VideoVector
    from recommender.ranking import scorer_active
    from recommender.trending import trending_refresh

    def add(n: int) -> None:
        Impression.objects.filter(user_id=viewer.id).delete()
        for post in PostFactory.create_batch(n):
            FollowFactory(follower=viewer, followee=post.owner)
            VideoVector.objects.update_or_create(
                video_id=post.id,
                defaults={"creator_id": post.owner_id, "posted_at": post.posted_at, "in_feeds": True},
            )
        trending_refresh()
        scorer_active()

    return Listing({}, add)


# The feeds' first pages gather candidates, rank and log what they serve: more than a plain list, but
# as many for ten items as for one (member, steering, filters, one candidate query, counters, the
# impressions, the cards).
FEED_MAX_QUERIES = 16
QUERY_BUDGETS = {"/api/v1/feed": FEED_MAX_QUERIES, "/api/v1/feed/following": FEED_MAX_QUERIES}


ROW_BUILDERS: dict[str, Callable[[User], Listing]] = {
    "/api/v1/feed": my_feed,
    "/api/v1/feed/following": my_feed,
    "/api/v1/search/people": search_results,
    "/api/v1/search/cameos": search_results,
    "/api/v1/search/posts": search_results,
    "/api/v1/cameos/{cameo_id}/videos": videos_casting_my_cameo,
    "/api/v1/cameos": my_cameos,
    "/api/v1/cameos/usable": cameos_i_may_use,
    "/api/v1/cameos/registrations": my_cameo_registrations,
    "/api/v1/cameos/requests/mine": my_cameo_requests,
    "/api/v1/cameos/{cameo_id}/requests": requests_for_my_cameo,
    "/api/v1/cameos/{cameo_id}/uses": uses_of_my_cameo,
    "/api/v1/users/{username}/posts": posts_on_a_profile,
    "/api/v1/users/{username}/remixes": posts_on_a_profile,
    "/api/v1/users/{username}/cameos": posts_on_a_profile,
    "/api/v1/generations": my_generations,
    "/api/v1/me/drafts": my_drafts,
    "/api/v1/videos/{video_id}/likes": likers_of_a_post,
    "/api/v1/videos/{video_id}/comments": comments_on_a_post,
    "/api/v1/comments/{comment_id}/replies": replies_in_a_thread,
    "/api/v1/videos/{video_id}/ancestors": ancestors_of_a_remix,
    "/api/v1/videos/{video_id}/remixes": remixes_of_a_post,
    "/api/v1/notifications": my_notifications,
    "/api/v1/notifications/{group_id}/actors": actors_of_my_notification,
    "/api/v1/me/invites": my_invites,
    "/api/v1/me/mutuals": my_mutuals,
    "/api/v1/me/blocks": my_blocks,
    "/api/v1/users/{username}/followers": someones_followers,
    "/api/v1/users/{username}/following": whom_someone_follows,
    "/api/v1/moderation/decisions": my_statements_of_reasons,
    "/api/v1/guardianships": my_guardian_links,
}

LIST_OPERATIONS = [op for op in openapi.operations() if openapi.returns_a_page(op)]


def queries_for_page(client: Any, url: str, rows: int) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    # Rows the viewer cannot see would make any count constant.
    assert len(response.json()["results"]) == rows
    return [query["sql"][:160] for query in captured.captured_queries]


def test_every_list_endpoint_is_found():
    # The detection reads the schema; if it stopped matching, the test below would check nothing.
    assert {op.path for op in LIST_OPERATIONS} >= set(ROW_BUILDERS)


@pytest.mark.parametrize(
    "operation", LIST_OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path.removeprefix('/api/v1')}"
)
def test_a_list_makes_as_many_queries_for_ten_rows_as_for_one(auth_client, operation):
    builder = ROW_BUILDERS.get(operation.path)
    if builder is None:
        pytest.fail(
            f"{operation.id} returns a list but has no row builder: add one to ROW_BUILDERS "
            "in tests/test_query_counts.py (rows the viewer sees in that list)."
        )
    viewer = UserFactory()
    listing = builder(viewer)
    client, url = auth_client(viewer), operation.url(listing.path_values)
    url += f"?{listing.query}" if listing.query else ""

    listing.add_rows(1)
    one = queries_for_page(client, url, rows=1)
    listing.add_rows(9)
    ten = queries_for_page(client, url, rows=10)

    assert len(ten) == len(one), "\n".join(["1 row:", *one, "10 rows:", *ten])
    assert len(ten) <= QUERY_BUDGETS.get(operation.path, MAX_QUERIES), "\n".join(ten)
