"""Likes: repeat-safe, counted once, grouped in the owner's notifications, hidden across blocks."""

from __future__ import annotations

from uuid import uuid4

import pytest

from feed.models import Like, NotificationGroup, Video, VideoStats
from tests.factories import BlockFactory, LikeFactory, PostFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def like_url(video) -> str:
    return f"/api/v1/videos/{video.id}/like"


def likes_of(video) -> int:
    return VideoStats.objects.get(video=video).likes


def liked_groups(owner) -> list[NotificationGroup]:
    return list(NotificationGroup.objects.filter(recipient=owner, type="liked"))


def test_liking_twice_counts_once_and_unliking_twice_is_harmless(auth_client):
    # Given a post and a member
    post, fan = PostFactory(), UserFactory()
    client = auth_client(fan)

    # When they like it twice
    first = client.post(like_url(post))
    second = client.post(like_url(post))

    # Then the first stores the like (201), the second changes nothing (200)
    assert (first.status_code, first.json()) == (201, {"liked": True, "likes": 1})
    assert (second.status_code, second.json()) == (200, {"liked": True, "likes": 1})
    assert Like.objects.filter(video=post, user=fan).count() == 1
    assert likes_of(post) == 1

    # When they unlike it twice, then the count goes back once and stays there
    assert client.delete(like_url(post)).json() == {"liked": False, "likes": 0}
    again = client.delete(like_url(post))
    assert (again.status_code, again.json()) == (200, {"liked": False, "likes": 0})
    assert not Like.objects.filter(video=post).exists()
    assert likes_of(post) == 0


def test_the_count_answers_everyone_s_likes(auth_client):
    post = PostFactory()
    for fan in UserFactory.create_batch(3):
        auth_client(fan).post(like_url(post))
    assert auth_client(UserFactory()).post(like_url(post)).json() == {"liked": True, "likes": 4}
    assert likes_of(post) == 4


def test_the_owner_hears_of_likes_in_one_group_and_not_of_repeats_or_their_own(
    auth_client, listen, django_capture_on_commit_callbacks
):
    # Given a post whose owner listens
    post = PostFactory()
    heard = listen(post.owner_id)
    fans = UserFactory.create_batch(2)

    # When two members like it, one of them twice and once after unliking, and the owner likes it too
    with django_capture_on_commit_callbacks(execute=True):
        for fan in fans:
            auth_client(fan).post(like_url(post))
        auth_client(fans[0]).post(like_url(post))
        auth_client(fans[0]).delete(like_url(post))
        auth_client(fans[0]).post(like_url(post))
        auth_client(post.owner).post(like_url(post))

    # Then one group counts the two members, newest first, and each was pushed once
    [group] = liked_groups(post.owner)
    assert (group.count, group.target_kind, group.target_id) == (2, "video", post.id)
    assert group.latest_actor_ids == [fans[1].id, fans[0].id]
    events = [event for event in heard() if event["type"] == "notification.created"]
    assert [event["data"]["actor_id"] for event in events] == [str(fans[0].id), str(fans[1].id)]
    assert likes_of(post) == 3


def test_a_draft_takes_no_likes(auth_client):
    # Given a draft
    draft = VideoFactory()

    # When its owner likes it, then it is refused as not posted; anyone else does not find it
    own = auth_client(draft.owner).post(like_url(draft))
    assert (own.status_code, own.json()["error"]["code"]) == (409, "video_not_posted")
    other = auth_client(UserFactory()).post(like_url(draft))
    assert (other.status_code, other.json()["error"]["code"]) == (404, "video_not_found")
    assert not Like.objects.exists()
    assert likes_of(draft) == 0


@pytest.mark.parametrize("state", [Video.State.REMOVED, Video.State.DELETED])
def test_a_tombstone_takes_no_likes(auth_client, state):
    post = PostFactory(state=state)
    response = auth_client(UserFactory()).post(like_url(post))
    assert (response.status_code, response.json()["error"]["code"]) == (404, "video_not_found")


@pytest.mark.parametrize("owner_blocks", [True, False], ids=["owner-blocked-fan", "fan-blocked-owner"])
def test_a_block_either_way_hides_the_post_from_liking(auth_client, owner_blocks):
    # Given a block between a post's owner and a member, either way
    post, fan = PostFactory(), UserFactory()
    if owner_blocks:
        BlockFactory(blocker=post.owner, blocked=fan)
    else:
        BlockFactory(blocker=fan, blocked=post.owner)

    # When the member likes the post, then it does not exist for them, as an unknown id does not
    hidden = auth_client(fan).post(like_url(post))
    unknown = auth_client(fan).post(f"/api/v1/videos/{uuid4()}/like")
    assert (hidden.status_code, hidden.content) == (unknown.status_code, unknown.content)
    assert hidden.json()["error"]["code"] == "video_not_found"
    assert not Like.objects.exists()
    assert liked_groups(post.owner) == []


def test_unliking_an_unposted_video_keeps_the_count_right(auth_client):
    # Given a post its owner liked, then unposted
    post = PostFactory()
    client = auth_client(post.owner)
    client.post(like_url(post))
    Video.objects.filter(id=post.id).update(state=Video.State.DRAFT)

    # When the owner unlikes the draft, then it works and counts
    assert client.delete(like_url(post)).json() == {"liked": False, "likes": 0}


def test_the_likers_are_the_latest_first_without_members_hidden_from_the_viewer(auth_client):
    # Given a post liked by four members, one of whom blocked the viewer, one blocked by the viewer,
    # and one deactivated
    post, viewer = PostFactory(), UserFactory()
    first, blocker, blocked, gone, last = UserFactory.create_batch(5)
    for member in (first, blocker, blocked, gone, last):
        auth_client(member).post(like_url(post))
    BlockFactory(blocker=blocker, blocked=viewer)
    BlockFactory(blocker=viewer, blocked=blocked)
    gone.is_active = False
    gone.save(update_fields=["is_active"])

    # When the viewer asks who liked it
    page = auth_client(viewer).get(f"/api/v1/videos/{post.id}/likes").json()

    # Then the members they may see, the latest first, each with a member card and when they liked it
    assert [row["user"]["username"] for row in page["results"]] == [last.username, first.username]
    assert set(page["results"][0]["user"]) == {"id", "username", "display_name", "avatar_url"}
    assert page["results"][0]["liked_at"] >= page["results"][1]["liked_at"]


def test_the_likers_come_in_pages(auth_client):
    post = PostFactory()
    LikeFactory.create_batch(3, video=post)
    client = auth_client(UserFactory())
    first = client.get(f"/api/v1/videos/{post.id}/likes?limit=2").json()
    rest = client.get(first["next"]).json()
    assert len(first["results"]) == 2
    assert len(rest["results"]) == 1
    assert rest["next"] is None
    seen = {row["user"]["id"] for row in first["results"] + rest["results"]}
    assert seen == {str(like.user_id) for like in Like.objects.filter(video=post)}


def test_the_likers_of_a_post_hidden_from_the_viewer_are_not_found(auth_client):
    post, stranger = PostFactory(), UserFactory()
    LikeFactory(video=post)
    BlockFactory(blocker=post.owner, blocked=stranger)
    response = auth_client(stranger).get(f"/api/v1/videos/{post.id}/likes")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "video_not_found")
