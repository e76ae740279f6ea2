"""The feed in the admin: moderators see videos and take them down (with a reason, counted out of
their remix chain); nobody edits a video's fields there; comments, notifications and exports are
read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts.roles import MODERATORS, moderators_group_sync
from feed.models import Video, VideoStats
from tests.factories import CommentFactory, PostFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/feed/video/"


@pytest.fixture
def moderator():
    moderators_group_sync()
    user = UserFactory(username="mod", is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATORS))
    return user


@pytest.fixture
def mod_client(client, moderator):
    client.force_login(moderator)
    return client


def test_a_moderator_lists_videos_by_state_and_sees_one_read_only(mod_client):
    post, draft = PostFactory(caption="sunset at the pier"), VideoFactory()
    VideoStats.objects.filter(video=post).update(likes=7)

    listed = mod_client.get(CHANGELIST, {"state__exact": "posted"})
    assert listed.status_code == 200
    assert str(post.id) in listed.content.decode()
    assert str(draft.id) not in listed.content.decode()

    page = mod_client.get(f"{CHANGELIST}{post.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "sunset at the pier" in html
    assert 'name="caption"' not in html  # read-only
    assert "/media/signed/" in html  # the video plays for review
    assert "Likes" in html
    assert ">7<" in html.replace(" ", "").replace("\n", "")  # the counters, inline


def test_a_moderator_cannot_edit_a_videos_fields(mod_client):
    post = PostFactory(caption="as posted")
    response = mod_client.post(
        f"{CHANGELIST}{post.id}/change/", {"caption": "edited by staff", "state": "draft"}
    )
    assert response.status_code == 403
    post.refresh_from_db()
    assert (post.caption, post.state) == ("as posted", "posted")


def test_the_takedown_asks_for_a_reason_then_removes(mod_client, moderator, auth_client):
    # Given a remix of a post, posted (its parent counts it)
    parent = PostFactory()
    remix = VideoFactory(remix_of_id=parent.id, lineage=[parent.id], depth=1)
    auth_client(remix.owner).post(f"/api/v1/videos/{remix.id}/post")
    assert VideoStats.objects.get(video=parent).remixes == 1
    chosen = {"action": "remove", "_selected_action": [str(remix.id)]}

    # When a moderator picks "Remove", the admin asks for a reason first; a blank one is asked again
    asked = mod_client.post(CHANGELIST, chosen)
    assert asked.status_code == 200
    assert 'name="reason"' in asked.content.decode()
    blank = mod_client.post(CHANGELIST, {**chosen, "confirm": "yes", "reason": ""})
    assert 'name="reason"' in blank.content.decode()
    remix.refresh_from_db()
    assert remix.state == "posted"

    # And with one, the video is removed, by whom and why, and counted out of its chain
    done = mod_client.post(CHANGELIST, {**chosen, "confirm": "yes", "reason": "violent content"})
    assert done.status_code == 302
    remix.refresh_from_db()
    assert (remix.state, remix.removed_by_id, remix.removed_reason) == (
        "removed",
        moderator.id,
        "violent content",
    )
    assert remix.removed_at is not None
    assert VideoStats.objects.get(video=parent).remixes == 0
    assert auth_client(remix.owner).get(f"/api/v1/videos/{remix.id}").status_code == 404


def test_members_and_plain_staff_cannot_take_down(client):
    post = PostFactory()
    client.force_login(UserFactory(is_staff=True))
    client.post(
        CHANGELIST, {"action": "remove", "_selected_action": [str(post.id)], "confirm": "yes", "reason": "x"}
    )
    post.refresh_from_db()
    assert post.state == Video.State.POSTED


def test_comments_are_searched_by_body_and_author(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    wanted = CommentFactory(body="a very particular remark", author=UserFactory(username="quill"))
    other = CommentFactory(body="something else")
    by_body = client.get("/admin/feed/comment/", {"q": "particular"}).content.decode()
    by_author = client.get("/admin/feed/comment/", {"q": "quill"}).content.decode()
    for html in (by_body, by_author):
        assert str(wanted.id) in html
        assert str(other.id) not in html


@pytest.mark.parametrize("model", ["comment", "notificationgroup", "dataexport"])
def test_the_other_feed_tables_are_read_only(client, model):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(f"/admin/feed/{model}/").status_code == 200
    assert client.get(f"/admin/feed/{model}/add/").status_code == 403


@pytest.mark.parametrize("model", ["video", "comment"])
def test_no_feed_row_is_deleted_from_its_own_admin_page(client, model):
    # Owners delete videos (files go, the row stays a tombstone) and comments go through their service
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    row = PostFactory() if model == "video" else CommentFactory()
    assert client.post(f"/admin/feed/{model}/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(
        f"/admin/feed/{model}/",
        {"action": "delete_selected", "_selected_action": [str(row.pk)], "post": "yes"},
    )
    assert type(row).objects.filter(pk=row.pk).exists()


def test_a_superuser_still_deletes_a_member_with_their_videos_and_comments(client):
    member = UserFactory()
    post = PostFactory(owner=member)
    CommentFactory(author=member, video=post)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    client.post(f"/admin/accounts/user/{member.id}/delete/", {"post": "yes"})
    assert not Video.objects.filter(id=post.id).exists()
