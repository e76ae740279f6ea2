"""Mentions in captions: `@name` links the member by id (a rename keeps the link) and notifies them
once, unless a block stands between them and the writer."""

from __future__ import annotations

import pytest

from accounts.models import User
from feed.models import Mention, NotificationGroup
from tests.factories import BlockFactory, PostFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def mentioned_notices(user) -> list[NotificationGroup]:
    return list(NotificationGroup.objects.filter(recipient=user, type=NotificationGroup.Type.MENTIONED))


def post_with_caption(auth_client, owner, caption: str) -> dict:
    draft = VideoFactory(owner=owner)
    response = auth_client(owner).post(f"/api/v1/videos/{draft.id}/post", {"caption": caption}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_mention_links_the_member_and_notifies_them(auth_client):
    # Given Ann, Bob and Cleo
    ann, bob, cleo = UserFactory(username="ann"), UserFactory(username="bob"), UserFactory(username="cleo")

    # When Ann posts a caption naming both (one in capitals, one twice) and someone who does not exist
    card = post_with_caption(auth_client, ann, "with @Bob and @cleo at the lake, hi @cleo and @nobody_here")

    # Then the card links both by id, and each is told once, pointing at the post
    assert card["mentions"] == [
        {"written_as": "bob", "user": {"id": str(bob.id), "username": "bob"}},
        {"written_as": "cleo", "user": {"id": str(cleo.id), "username": "cleo"}},
    ]
    for member in (bob, cleo):
        (notice,) = mentioned_notices(member)
        assert (notice.target_kind, str(notice.target_id)) == ("video", card["id"])
        assert notice.latest_actor_ids == [ann.id]
    assert not mentioned_notices(ann)


def test_a_rename_keeps_the_link(auth_client):
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    card = post_with_caption(auth_client, ann, "thanks @bob")

    User.objects.filter(id=bob.id).update(username="robert")

    again = auth_client(UserFactory()).get(f"/api/v1/videos/{card['id']}").json()
    assert again["mentions"] == [{"written_as": "bob", "user": {"id": str(bob.id), "username": "robert"}}]


@pytest.mark.parametrize("direction", ["writer-blocked-member", "member-blocked-writer"])
def test_no_mention_and_no_notice_across_a_block(auth_client, direction):
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    if direction == "writer-blocked-member":
        BlockFactory(blocker=ann, blocked=bob)
    else:
        BlockFactory(blocker=bob, blocked=ann)

    card = post_with_caption(auth_client, ann, "hey @bob")

    assert card["mentions"] == []
    assert not Mention.objects.filter(user=bob).exists()
    assert not mentioned_notices(bob)


def test_a_viewer_does_not_see_links_to_people_they_blocked(auth_client):
    ann, bob, viewer = UserFactory(username="ann"), UserFactory(username="bob"), UserFactory()
    card = post_with_caption(auth_client, ann, "hey @bob")
    BlockFactory(blocker=viewer, blocked=bob)
    assert auth_client(viewer).get(f"/api/v1/videos/{card['id']}").json()["mentions"] == []
    assert len(auth_client(ann).get(f"/api/v1/videos/{card['id']}").json()["mentions"]) == 1


def test_editing_a_caption_follows_the_new_text_and_tells_only_the_newcomers(auth_client):
    ann, bob, cleo = UserFactory(username="ann"), UserFactory(username="bob"), UserFactory(username="cleo")
    card = post_with_caption(auth_client, ann, "hey @bob")

    edited = (
        auth_client(ann)
        .patch(f"/api/v1/videos/{card['id']}", {"caption": "hey @bob and @cleo"}, format="json")
        .json()
    )
    assert {m["user"]["username"] for m in edited["mentions"]} == {"bob", "cleo"}
    assert (len(mentioned_notices(bob)), len(mentioned_notices(cleo))) == (1, 1)

    dropped = auth_client(ann).patch(f"/api/v1/videos/{card['id']}", {"caption": "just @cleo"}, format="json")
    assert [m["user"]["username"] for m in dropped.json()["mentions"]] == ["cleo"]
    assert (len(mentioned_notices(bob)), len(mentioned_notices(cleo))) == (1, 1)


def test_a_drafts_caption_tells_nobody_until_it_is_posted(auth_client):
    # Given a draft whose caption names Bob (he could not see the draft)
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    draft = VideoFactory(owner=ann)
    auth_client(ann).patch(f"/api/v1/videos/{draft.id}", {"caption": "for @bob"}, format="json")
    assert not mentioned_notices(bob)

    # When it is posted, then he is told, once, also after an unpost and a repost
    client = auth_client(ann)
    assert client.post(f"/api/v1/videos/{draft.id}/post").json()["mentions"][0]["written_as"] == "bob"
    client.post(f"/api/v1/videos/{draft.id}/unpost")
    client.post(f"/api/v1/videos/{draft.id}/post")
    assert len(mentioned_notices(bob)) == 1


def test_a_deleted_post_takes_its_mentions_with_it(auth_client):
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    post = PostFactory(owner=ann)
    auth_client(ann).patch(f"/api/v1/videos/{post.id}", {"caption": "hi @bob"}, format="json")
    assert Mention.objects.filter(video=post, user=bob).exists()
    assert auth_client(ann).delete(f"/api/v1/videos/{post.id}").status_code == 204
    assert not Mention.objects.filter(video=post).exists()
