"""A member who deletes their account takes their part out of other people's counters."""

from __future__ import annotations

import pytest

from accounts.services import member_delete
from feed.models import VideoStats, ViewEvent
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def stats_of(video) -> VideoStats:
    return VideoStats.objects.get(video=video)


def test_likes_comments_and_remixes_of_a_deleted_member_leave_the_counters(auth_client):
    # Given alice's post, a remix chain under it, and bob who liked, commented and remixed
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    root = PostFactory(owner=alice)
    middle = PostFactory(owner=carol, parent=root)
    as_bob = auth_client(bob)
    assert as_bob.post(f"/api/v1/videos/{root.id}/like").status_code == 201
    top = as_bob.post(f"/api/v1/videos/{root.id}/comments", {"body": "lovely"}, format="json").json()
    reply = auth_client(carol).post(f"/api/v1/comments/{top['id']}/replies", {"body": "yes"}, format="json")
    assert reply.status_code == 201
    remix = PostFactory(owner=bob, parent=middle, state="draft", posted_at=None)
    assert as_bob.post(f"/api/v1/videos/{remix.id}/post", {}, format="json").status_code == 200
    auth_client(carol).post(f"/api/v1/videos/{middle.id}/like")
    ViewEvent.objects.create(
        user_id=bob.id, video_id=root.id, client_event_id="e1", kind="impression", occurred_at=root.created_at
    )
    assert (stats_of(root).likes, stats_of(root).comments, stats_of(root).descendants) == (1, 2, 1)
    assert (stats_of(middle).remixes, stats_of(middle).likes) == (1, 1)

    # When bob deletes his account
    member_delete(user=bob)

    # Then his like, his comment with its reply, and his remix leave the counters; carol's stay
    assert (stats_of(root).likes, stats_of(root).comments, stats_of(root).descendants) == (0, 0, 0)
    assert (stats_of(middle).remixes, stats_of(middle).descendants, stats_of(middle).likes) == (0, 0, 1)
    assert not ViewEvent.objects.filter(user_id=bob.id).exists()
