"""Profiles: a member's posts, their remixes and the posts they appear in, as cursor pages that respect
visibility, blocks and removals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feed.models import Video
from feed.services import video_remove
from tests.factories import BlockFactory, PostFactory, UserFactory, VideoCameoFactory, VideoFactory

pytestmark = pytest.mark.django_db

TABS = ["posts", "remixes", "cameos"]


def ids_of(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [video["id"] for video in response.json()["results"]]


def hours_ago(hours: int):
    return timezone.now() - timedelta(hours=hours)


def test_the_grid_lists_posts_newest_post_first_and_nothing_else(auth_client):
    # Given Ann's posts, a draft, a deleted and a removed post, and Bob's post
    ann, viewer = UserFactory(username="ann"), UserFactory()
    old = PostFactory(owner=ann, posted_at=hours_ago(3))
    new = PostFactory(owner=ann, posted_at=hours_ago(1))
    VideoFactory(owner=ann)
    PostFactory(owner=ann, state=Video.State.DELETED)
    video_remove(video_id=PostFactory(owner=ann).id, by_id=None, reason="spam")
    PostFactory()

    # When someone reads her grid, then only her live posts, by when they were posted
    assert ids_of(auth_client(viewer).get("/api/v1/users/ann/posts")) == [str(new.id), str(old.id)]

    # And a post taken back and posted again comes back on top
    client = auth_client(ann)
    client.post(f"/api/v1/videos/{old.id}/unpost")
    client.post(f"/api/v1/videos/{old.id}/post")
    assert ids_of(auth_client(viewer).get("/api/v1/users/ann/posts")) == [str(old.id), str(new.id)]


def test_my_own_grid_shows_my_posts_but_not_my_drafts(auth_client):
    me = UserFactory(username="me")
    post = PostFactory(owner=me)
    VideoFactory(owner=me)
    assert ids_of(auth_client(me).get("/api/v1/users/ME/posts")) == [str(post.id)]


def test_the_remixes_tab_lists_the_members_remixes(auth_client):
    ann = UserFactory(username="ann")
    original = PostFactory()
    remix = PostFactory(owner=ann, parent=original, posted_at=hours_ago(1))
    remix_of_remix = PostFactory(owner=ann, parent=remix)
    PostFactory(owner=ann)  # an original of hers

    listed = auth_client(UserFactory()).get("/api/v1/users/ann/remixes").json()["results"]

    assert [v["id"] for v in listed] == [str(remix_of_remix.id), str(remix.id)]
    assert [v["remix_of"] for v in listed] == [str(remix.id), str(original.id)]
    assert [v["remix_of_creator"] for v in listed] == ["ann", original.owner.username]


def test_the_cameos_tab_lists_posts_the_member_appears_in(auth_client):
    # Given Cleo cast in two posts and a draft of other people's, and in a post of someone who
    # blocked the viewer
    cleo, viewer, blocker = UserFactory(username="cleo"), UserFactory(), UserFactory()
    first = VideoCameoFactory(cameo_owner=cleo, video=PostFactory(posted_at=hours_ago(2))).video
    second = VideoCameoFactory(cameo_owner=cleo, video=PostFactory(posted_at=hours_ago(1))).video
    VideoCameoFactory(cameo_owner=cleo, video=second)  # two of her cameos in one post: listed once
    VideoCameoFactory(cameo_owner=cleo, video=VideoFactory())
    VideoCameoFactory(cameo_owner=cleo, video=PostFactory(owner=blocker))
    BlockFactory(blocker=blocker, blocked=viewer)
    PostFactory(owner=cleo)  # her own post without her cameo

    # When the viewer reads her cameos tab, then only the posts they may see, newest first
    assert ids_of(auth_client(viewer).get("/api/v1/users/cleo/cameos")) == [str(second.id), str(first.id)]


@pytest.mark.parametrize("tab", TABS)
@pytest.mark.parametrize("direction", ["member-blocked-viewer", "viewer-blocked-member"])
def test_a_blocked_profile_is_not_found_either_way(auth_client, tab, direction):
    member, viewer = UserFactory(username="ann"), UserFactory()
    PostFactory(owner=member, parent=PostFactory())
    if direction == "member-blocked-viewer":
        BlockFactory(blocker=member, blocked=viewer)
    else:
        BlockFactory(blocker=viewer, blocked=member)

    hidden = auth_client(viewer).get(f"/api/v1/users/ann/{tab}")
    unknown = auth_client(viewer).get(f"/api/v1/users/nobody/{tab}")

    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "user_not_found")
    assert hidden.content == unknown.content


@pytest.mark.parametrize("tab", TABS)
def test_a_deactivated_members_profile_is_not_found(auth_client, tab):
    UserFactory(username="gone", is_active=False)
    response = auth_client(UserFactory()).get(f"/api/v1/users/gone/{tab}")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "user_not_found")


def test_pages_follow_each_other_without_repeats_or_gaps(auth_client):
    # Given seven posts, three of them posted at the very same instant (the id breaks the tie)
    ann = UserFactory(username="ann")
    same = hours_ago(5)
    posts = [PostFactory(owner=ann, posted_at=same) for _ in range(3)]
    posts += [PostFactory(owner=ann, posted_at=hours_ago(h)) for h in (4, 3, 2, 1)]
    client = auth_client(UserFactory())

    # When the grid is read two at a time
    seen, url = [], "/api/v1/users/ann/posts?limit=2"
    while url:
        page = client.get(url).json()
        seen += [video["id"] for video in page["results"]]
        url = page["next"]

    # Then every post comes once, newest post first
    assert len(seen) == len(set(seen)) == 7
    expected = sorted(posts, key=lambda v: (v.posted_at, str(v.id)), reverse=True)
    assert seen == [str(v.id) for v in expected]


def test_a_bad_cursor_is_a_400(auth_client):
    UserFactory(username="ann")
    response = auth_client(UserFactory()).get("/api/v1/users/ann/posts?cursor=bm9wZQ")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_cursor")
