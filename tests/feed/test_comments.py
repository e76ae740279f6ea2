"""Comments and their replies: the text rules, one level of threads, who hears of what (once), who
may edit and delete, and blocks that hide both sides."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from feed.models import COMMENT_MAX, Comment, Mention, NotificationGroup, VideoStats
from tests.factories import BlockFactory, CommentFactory, PostFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def comments_url(video) -> str:
    return f"/api/v1/videos/{video.id}/comments"


def replies_url(comment_id) -> str:
    return f"/api/v1/comments/{comment_id}/replies"


def comment_url(comment_id) -> str:
    return f"/api/v1/comments/{comment_id}"


def comment(client, video, body: str) -> dict:
    response = client.post(comments_url(video), {"body": body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def reply(client, comment_id, body: str) -> dict:
    response = client.post(replies_url(comment_id), {"body": body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def counted(video) -> int:
    return VideoStats.objects.get(video=video).comments


def heard(member) -> list[tuple[str, str]]:
    """(type, excerpt) of every notification the member has, oldest first."""
    groups = NotificationGroup.objects.filter(recipient=member).order_by("created_at", "id")
    return [(group.type, group.data.get("excerpt", "")) for group in groups]


def hide(viewer, member, *, viewer_blocks: bool) -> None:
    if viewer_blocks:
        BlockFactory(blocker=viewer, blocked=member)
    else:
        BlockFactory(blocker=member, blocked=viewer)


EITHER_WAY = pytest.mark.parametrize(
    "viewer_blocks", [True, False], ids=["viewer-blocked", "viewer-was-blocked"]
)


# --- writing a comment ------------------------------------------------------------------------


def test_a_comment_shows_its_author_and_counts_and_the_post_s_owner_hears_of_it(auth_client):
    # Given a post and a member
    post, fan = PostFactory(), UserFactory()

    # When the member comments, with spaces around the words
    made = comment(auth_client(fan), post, "  what a boat!  \n")

    # Then the comment is stored trimmed, with its author's card and flags, and counted
    assert made["body"] == "what a boat!"
    assert made["author"]["username"] == fan.username
    assert (made["video_id"], made["parent_id"], made["edited_at"]) == (str(post.id), None, None)
    assert (made["is_mine"], made["can_delete"], made["replies_count"], made["replies"]) == (
        True,
        True,
        0,
        [],
    )
    assert made["mentions"] == []
    assert counted(post) == 1
    assert heard(post.owner) == [("commented", "what a boat!")]

    # And the owner sees it as deletable, not as theirs
    [seen] = auth_client(post.owner).get(comments_url(post)).json()["results"]
    assert (seen["id"], seen["is_mine"], seen["can_delete"]) == (made["id"], False, True)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param("", "blank", id="empty"),
        pytest.param("   \n\t ", "blank", id="only-spaces"),
        pytest.param("x" * (COMMENT_MAX + 1), "max_length", id="too-long"),
        pytest.param(None, "null", id="null"),
        pytest.param(7, "invalid", id="not-text"),
    ],
)
def test_a_comment_needs_1_to_1000_characters(auth_client, body, code):
    post = PostFactory()
    response = auth_client(UserFactory()).post(comments_url(post), {"body": body}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert code in {problem["code"] for problem in error["fields"]["body"]}
    assert not Comment.objects.exists()
    assert counted(post) == 0


def test_a_comment_of_exactly_1000_characters_is_taken(auth_client):
    post = PostFactory()
    made = comment(auth_client(UserFactory()), post, "é" * COMMENT_MAX)
    assert len(made["body"]) == COMMENT_MAX


def test_a_comment_refuses_fields_it_does_not_know(auth_client):
    post = PostFactory()
    response = auth_client(UserFactory()).post(
        comments_url(post), {"body": "hi", "pinned": True}, format="json"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_input")
    assert response.json()["error"]["fields"]["pinned"][0]["code"] == "unknown_field"


def test_a_draft_takes_no_comments(auth_client):
    draft = VideoFactory()
    own = auth_client(draft.owner).post(comments_url(draft), {"body": "mine"}, format="json")
    assert (own.status_code, own.json()["error"]["code"]) == (409, "video_not_posted")
    other = auth_client(UserFactory()).post(comments_url(draft), {"body": "yours"}, format="json")
    assert (other.status_code, other.json()["error"]["code"]) == (404, "video_not_found")
    assert not Comment.objects.exists()


@EITHER_WAY
def test_a_member_blocked_either_way_cannot_comment_nor_read_the_comments(auth_client, viewer_blocks):
    # Given a post with a comment, and a member with a block between them and the post's owner
    post, member = PostFactory(), UserFactory()
    CommentFactory(video=post)
    hide(member, post.owner, viewer_blocks=viewer_blocks)
    client = auth_client(member)

    # When they comment, even with a body that is no comment, or read: the post does not exist for them
    for body in ({"body": "hello"}, {}):
        hidden = client.post(comments_url(post), body, format="json")
        unknown = client.post(f"/api/v1/videos/{uuid4()}/comments", body, format="json")
        assert (hidden.status_code, hidden.content) == (unknown.status_code, unknown.content)
        assert hidden.json()["error"]["code"] == "video_not_found"
    listed = client.get(comments_url(post))
    assert (listed.status_code, listed.json()["error"]["code"]) == (404, "video_not_found")
    assert Comment.objects.count() == 1


# --- mentions ---------------------------------------------------------------------------------


def test_mentions_link_members_who_hear_of_it_once_and_follow_renames(auth_client):
    # Given a post, a member to mention, and the post's owner mentioned too
    post, fan, friend = PostFactory(), UserFactory(), UserFactory(username="sailor")
    owner_name = post.owner.username

    # When the fan mentions both
    made = comment(auth_client(fan), post, f"@sailor look, and @{owner_name} made it")

    # Then both are linked; the owner hears one "mentioned", not "commented" as well
    assert [(m["written_as"], m["user"]["id"]) for m in made["mentions"]] == [
        ("sailor", str(friend.id)),
        (owner_name, str(post.owner_id)),
    ]
    assert [kind for kind, _ in heard(friend)] == ["mentioned"]
    assert [kind for kind, _ in heard(post.owner)] == ["mentioned"]

    # When the friend renames, then the link shows the new name, and the text stays as written
    friend.username = "captain"
    friend.save(update_fields=["username"])
    [seen] = auth_client(fan).get(comments_url(post)).json()["results"]
    assert seen["mentions"][0] == {
        "written_as": "sailor",
        "user": {"id": str(friend.id), "username": "captain"},
    }
    assert seen["body"].startswith("@sailor")


def test_a_member_blocked_by_the_writer_is_not_linked(auth_client):
    post, fan, foe = PostFactory(), UserFactory(), UserFactory(username="foe")
    BlockFactory(blocker=foe, blocked=fan)
    made = comment(auth_client(fan), post, "hey @foe")
    assert made["mentions"] == []
    assert heard(foe) == []


# --- reading ----------------------------------------------------------------------------------


def test_comments_come_newest_first_in_pages_each_with_its_first_replies(auth_client):
    # Given three comments, the middle one with three replies
    post, viewer = PostFactory(), UserFactory()
    middle = [CommentFactory(video=post, body=name) for name in ("old", "middle", "new")][1]
    answers = [CommentFactory(parent=middle, body=f"answer {n}") for n in range(3)]

    # When the viewer reads two at a time
    client = auth_client(viewer)
    first = client.get(f"{comments_url(post)}?limit=2").json()
    rest = client.get(first["next"]).json()

    # Then newest first, no reply among the top-level ones, and the first two replies under theirs
    assert [c["body"] for c in first["results"] + rest["results"]] == ["new", "middle", "old"]
    assert rest["next"] is None
    shown = first["results"][1]
    assert shown["replies_count"] == 3
    assert [r["id"] for r in shown["replies"]] == [str(answers[0].id), str(answers[1].id)]
    assert all(r["parent_id"] == str(middle.id) for r in shown["replies"])
    assert first["results"][0]["replies"] == []


def test_replies_come_first_one_first_in_pages(auth_client):
    post, viewer = PostFactory(), UserFactory()
    top = CommentFactory(video=post)
    answers = [CommentFactory(parent=top, body=f"answer {n}") for n in range(3)]
    client = auth_client(viewer)
    first = client.get(f"{replies_url(top.id)}?limit=2").json()
    rest = client.get(first["next"]).json()
    assert [r["id"] for r in first["results"] + rest["results"]] == [str(a.id) for a in answers]
    assert "replies" not in first["results"][0]


@EITHER_WAY
def test_comments_and_replies_of_members_hidden_from_the_viewer_are_left_out(auth_client, viewer_blocks):
    # Given a post where a hidden member wrote a comment (with a visible reply) and a reply to a
    # visible comment, and a deactivated member wrote one more
    post, viewer, hidden, gone = PostFactory(), *UserFactory.create_batch(3)
    visible = CommentFactory(video=post, body="visible")
    CommentFactory(parent=visible, author=hidden, body="hidden reply")
    kept = CommentFactory(parent=visible, body="kept reply")
    hidden_top = CommentFactory(video=post, author=hidden, body="hidden top")
    under_hidden = CommentFactory(parent=hidden_top, body="under hidden")
    CommentFactory(video=post, author=gone)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    hide(viewer, hidden, viewer_blocks=viewer_blocks)
    client = auth_client(viewer)

    # When the viewer reads the comments, then only the visible thread shows, with its visible reply
    [thread] = client.get(comments_url(post)).json()["results"]
    assert (thread["body"], thread["replies_count"]) == ("visible", 1)
    assert [r["id"] for r in thread["replies"]] == [str(kept.id)]
    assert [r["id"] for r in client.get(replies_url(visible.id)).json()["results"]] == [str(kept.id)]

    # And the hidden member's thread, and the replies in it, do not exist for the viewer
    for comment_id in (hidden_top.id, under_hidden.id):
        hidden_answer = client.get(replies_url(comment_id))
        unknown = client.get(replies_url(uuid4()))
        assert (hidden_answer.status_code, hidden_answer.content) == (unknown.status_code, unknown.content)
        assert hidden_answer.json()["error"]["code"] == "comment_not_found"


# --- replies ----------------------------------------------------------------------------------


def test_a_reply_joins_the_thread_and_each_member_hears_of_it_once(auth_client):
    # Given a post, a top-level comment by one member
    post, writer, answerer = PostFactory(), UserFactory(), UserFactory()
    top = comment(auth_client(writer), post, "first!")

    # When another member replies
    answer = reply(auth_client(answerer), top["id"], "second")

    # Then the reply is in the thread and counted; the writer hears "replied", the owner "commented"
    assert (answer["parent_id"], answer["video_id"]) == (top["id"], str(post.id))
    assert counted(post) == 2
    assert heard(writer) == [("replied", "second")]
    assert heard(post.owner) == [("commented", "first!"), ("commented", "second")]

    # When the writer replies to that reply, then it joins the same thread and the answerer hears it
    again = reply(auth_client(writer), answer["id"], "third")
    assert again["parent_id"] == top["id"]
    assert heard(answerer) == [("replied", "third")]
    assert [kind for kind, _ in heard(writer)] == ["replied"]  # not of their own reply
    listed = auth_client(answerer).get(replies_url(answer["id"])).json()["results"]
    assert [r["id"] for r in listed] == [answer["id"], again["id"]]
    assert counted(post) == 3


def test_the_owner_replied_to_hears_replied_only(auth_client):
    post, fan = PostFactory(), UserFactory()
    top = comment(auth_client(post.owner), post, "thanks for watching")
    reply(auth_client(fan), top["id"], "loved it")
    assert heard(post.owner) == [("replied", "loved it")]


def test_a_reply_to_a_draft_s_comment_is_refused(auth_client):
    # Given a post with a comment, unposted since
    post = PostFactory()
    top = CommentFactory(video=post)
    post.state = "draft"
    post.save(update_fields=["state"])

    own = auth_client(post.owner).post(replies_url(top.id), {"body": "late"}, format="json")
    assert (own.status_code, own.json()["error"]["code"]) == (409, "video_not_posted")
    other = auth_client(top.author).post(replies_url(top.id), {"body": "late"}, format="json")
    assert (other.status_code, other.json()["error"]["code"]) == (404, "comment_not_found")


# --- editing ----------------------------------------------------------------------------------


def test_the_author_edits_and_mentions_follow_the_new_text(auth_client):
    # Given a comment that mentions one member
    post, writer = PostFactory(), UserFactory()
    old_friend, new_friend = UserFactory(username="oldfriend"), UserFactory(username="newfriend")
    made = comment(auth_client(writer), post, "hi @oldfriend")

    # When its author rewrites it to mention another
    response = auth_client(writer).patch(comment_url(made["id"]), {"body": " hi @newfriend "}, format="json")

    # Then it reads edited, the new member is linked and hears of it, the old link is gone
    assert response.status_code == 200
    edited = response.json()
    assert edited["body"] == "hi @newfriend"
    assert edited["edited_at"] is not None
    assert [m["user"]["id"] for m in edited["mentions"]] == [str(new_friend.id)]
    assert list(Mention.objects.filter(comment_id=made["id"]).values_list("user_id", flat=True)) == [
        new_friend.id
    ]
    assert [kind for kind, _ in heard(new_friend)] == ["mentioned"]
    assert [kind for kind, _ in heard(old_friend)] == ["mentioned"]  # from before, not again


def test_the_same_text_again_is_no_edit(auth_client):
    post, writer = PostFactory(), UserFactory()
    made = comment(auth_client(writer), post, "as it was")
    response = auth_client(writer).patch(comment_url(made["id"]), {"body": "as it was"}, format="json")
    assert (response.status_code, response.json()["edited_at"]) == (200, None)


def test_only_the_author_edits(auth_client):
    # Given a comment on someone's post
    top = CommentFactory(body="mine")

    # When the post's owner or a bystander edits it, then it is refused; nothing changed
    for member in (top.video.owner, UserFactory()):
        response = auth_client(member).patch(comment_url(top.id), {"body": "yours"}, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (403, "comment_edit_denied")
    top.refresh_from_db()
    assert (top.body, top.edited_at) == ("mine", None)


def test_an_edit_still_needs_text(auth_client):
    top = CommentFactory(body="mine")
    response = auth_client(top.author).patch(comment_url(top.id), {"body": "  "}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["body"][0]["code"] == "blank"


@EITHER_WAY
def test_a_comment_hidden_from_a_member_is_not_found_for_editing(auth_client, viewer_blocks):
    top, member = CommentFactory(), UserFactory()
    hide(member, top.author, viewer_blocks=viewer_blocks)
    hidden = auth_client(member).patch(comment_url(top.id), {"body": "x"}, format="json")
    unknown = auth_client(member).patch(comment_url(uuid4()), {"body": "x"}, format="json")
    assert (hidden.status_code, hidden.content) == (unknown.status_code, unknown.content)
    assert hidden.json()["error"]["code"] == "comment_not_found"


# --- deleting ---------------------------------------------------------------------------------


def test_deleting_a_thread_takes_its_replies_and_their_notifications(auth_client):
    # Given a thread of three, written through the API (counted, notified)
    post, writer, answerer = PostFactory(), UserFactory(), UserFactory()
    top = comment(auth_client(writer), post, "first")
    reply(auth_client(answerer), top["id"], "second")
    reply(auth_client(answerer), top["id"], "third")
    other = comment(auth_client(answerer), post, "elsewhere")
    assert counted(post) == 4

    # When its author deletes the top-level comment
    response = auth_client(writer).delete(comment_url(top["id"]))

    # Then the thread is gone, the count tells the rest, and so are the notifications it caused
    assert response.status_code == 204
    assert list(Comment.objects.values_list("id", flat=True)) == [UUID(other["id"])]
    assert counted(post) == 1
    assert heard(writer) == []
    assert heard(post.owner) == [("commented", "elsewhere")]
    gone = auth_client(writer).get(replies_url(top["id"]))
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "comment_not_found")


def test_deleting_a_reply_takes_one(auth_client):
    post, writer = PostFactory(), UserFactory()
    top = comment(auth_client(writer), post, "first")
    answer = reply(auth_client(UserFactory()), top["id"], "second")
    assert auth_client(post.owner).delete(comment_url(answer["id"])).status_code == 204
    assert counted(post) == 1
    [thread] = auth_client(writer).get(comments_url(post)).json()["results"]
    assert (thread["replies_count"], thread["replies"]) == (0, [])


def test_only_the_author_or_the_post_s_owner_deletes(auth_client):
    top = CommentFactory()
    bystander = auth_client(UserFactory()).delete(comment_url(top.id))
    assert (bystander.status_code, bystander.json()["error"]["code"]) == (403, "comment_delete_denied")
    assert Comment.objects.filter(id=top.id).exists()
    assert auth_client(top.video.owner).delete(comment_url(top.id)).status_code == 204
    assert not Comment.objects.filter(id=top.id).exists()


def test_a_post_s_owner_removes_the_comment_of_someone_they_blocked(auth_client):
    # Given a comment by a member the post's owner has since blocked (hidden from the owner's list)
    top = CommentFactory()
    BlockFactory(blocker=top.video.owner, blocked=top.author)
    assert auth_client(top.video.owner).get(comments_url(top.video)).json()["results"] == []

    # When the owner deletes it by its id, then it goes
    assert auth_client(top.video.owner).delete(comment_url(top.id)).status_code == 204
    assert not Comment.objects.exists()


@EITHER_WAY
def test_a_comment_hidden_from_a_member_is_not_found_for_deleting(auth_client, viewer_blocks):
    top, member = CommentFactory(), UserFactory()
    hide(member, top.author, viewer_blocks=viewer_blocks)
    hidden = auth_client(member).delete(comment_url(top.id))
    unknown = auth_client(member).delete(comment_url(uuid4()))
    assert (hidden.status_code, hidden.content) == (unknown.status_code, unknown.content)
    assert Comment.objects.filter(id=top.id).exists()


def test_the_count_matches_the_rows_after_comments_come_and_go(auth_client):
    post = PostFactory()
    writers = UserFactory.create_batch(3)
    tops = [comment(auth_client(w), post, f"top {n}") for n, w in enumerate(writers)]
    for top in tops:
        for writer in writers:
            reply(auth_client(writer), top["id"], "re")
    auth_client(writers[0]).delete(comment_url(tops[0]["id"]))  # with its 3 replies
    first_reply = auth_client(post.owner).get(replies_url(tops[1]["id"])).json()["results"][0]
    auth_client(post.owner).delete(comment_url(first_reply["id"]))
    assert counted(post) == Comment.objects.filter(video=post).count() == 7
