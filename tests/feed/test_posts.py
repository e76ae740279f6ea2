"""Posts: a draft posted, edited, unposted, deleted and downloaded through the API, as its owner and as
everyone else sees it."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.core.files.storage import default_storage

from feed.models import Video, VideoStats
from feed.services import video_remove
from tests.factories import MP4_BYTES, BlockFactory, PostFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return urlparse(url).path


def code_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- posting ---------------------------------------------------------------------------------------


def test_a_posted_draft_is_a_card_everyone_sees(auth_client):
    # Given a draft of Ann's
    ann, bob = UserFactory(username="ann"), UserFactory()
    draft = VideoFactory(owner=ann)
    assert auth_client(bob).get(f"/api/v1/videos/{draft.id}").status_code == 404

    # When she posts it with a caption
    posted = auth_client(ann).post(
        f"/api/v1/videos/{draft.id}/post", {"caption": "first light"}, format="json"
    )

    # Then it is a post, remixable by default, and Bob sees the same card
    assert posted.status_code == 200, posted.json()
    card = auth_client(bob).get(f"/api/v1/videos/{draft.id}").json()
    assert card["state"] == "posted"
    assert (card["caption"], card["remix_allowed"], card["prompt"]) == ("first light", True, draft.prompt)
    assert card["posted_at"] is not None
    assert card["creator"]["username"] == "ann"
    assert set(card["creator"]) == {"id", "username", "display_name", "avatar_url"}
    assert card["stats"] == {
        "likes": 0,
        "comments": 0,
        "remixes": 0,
        "descendants": 0,
        "views": 0,
        "shares": 0,
        "downloads": 0,
    }
    assert (card["liked_by_me"], card["mentions"], card["remix_of"], card["remix_of_creator"]) == (
        False,
        [],
        None,
        None,
    )
    assert card["size_bytes"] == draft.size_bytes
    assert card["video_url"].startswith("http://testserver/media/signed/")


def test_the_card_shows_the_counters(auth_client):
    post = PostFactory()
    VideoStats.objects.filter(video=post).update(likes=3, comments=2, views=40, shares=1, downloads=5)
    stats = auth_client(UserFactory()).get(f"/api/v1/videos/{post.id}").json()["stats"]
    assert (stats["likes"], stats["comments"], stats["views"], stats["shares"], stats["downloads"]) == (
        3,
        2,
        40,
        1,
        5,
    )


def test_posting_can_turn_remixes_off_and_keeps_a_caption_set_on_the_draft(auth_client):
    owner = UserFactory()
    draft = VideoFactory(owner=owner)
    client = auth_client(owner)
    assert (
        client.patch(f"/api/v1/videos/{draft.id}", {"caption": "set early"}, format="json").status_code == 200
    )

    card = client.post(f"/api/v1/videos/{draft.id}/post", {"remix_allowed": False}, format="json").json()

    assert (card["state"], card["caption"], card["remix_allowed"]) == ("posted", "set early", False)


def test_a_post_cannot_be_posted_again_nor_a_draft_unposted(auth_client):
    owner = UserFactory()
    post, draft = PostFactory(owner=owner), VideoFactory(owner=owner)
    client = auth_client(owner)
    assert code_of(client.post(f"/api/v1/videos/{post.id}/post")) == (409, "video_not_draft")
    assert code_of(client.post(f"/api/v1/videos/{draft.id}/unpost")) == (409, "video_not_posted")


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        pytest.param({"caption": "x" * 501}, "caption", "max_length", id="caption-too-long"),
        pytest.param({"caption": 5}, "caption", "invalid", id="caption-not-text"),
        pytest.param({"caption": None}, "caption", "null", id="caption-null"),
        pytest.param({"remix_allowed": "yes"}, "remix_allowed", "invalid", id="remix-allowed-not-bool"),
        pytest.param({"remix_allowed": 1}, "remix_allowed", "invalid", id="remix-allowed-number"),
        pytest.param({"visibility": "friends"}, "visibility", "unknown_field", id="unknown-field"),
    ],
)
@pytest.mark.parametrize("operation", ["post", "patch"])
def test_bad_input_is_a_400_and_changes_nothing(auth_client, operation, body, field, code):
    owner = UserFactory()
    draft = VideoFactory(owner=owner)
    client = auth_client(owner)
    if operation == "post":
        response = client.post(f"/api/v1/videos/{draft.id}/post", body, format="json")
    else:
        response = client.patch(f"/api/v1/videos/{draft.id}", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["fields"][field][0]["code"] == code
    draft.refresh_from_db()
    assert (draft.state, draft.caption) == ("draft", "")


def test_a_caption_of_500_characters_is_fine(auth_client):
    owner = UserFactory()
    draft = VideoFactory(owner=owner)
    posted = auth_client(owner).post(f"/api/v1/videos/{draft.id}/post", {"caption": "y" * 500}, format="json")
    assert posted.status_code == 200
    assert len(posted.json()["caption"]) == 500


# --- editing ---------------------------------------------------------------------------------------


def test_the_owner_edits_caption_and_remix_setting(auth_client):
    owner = UserFactory()
    post = PostFactory(owner=owner)
    client = auth_client(owner)

    edited = client.patch(f"/api/v1/videos/{post.id}", {"caption": "new words"}, format="json").json()
    assert (edited["caption"], edited["remix_allowed"]) == ("new words", True)
    edited = client.patch(f"/api/v1/videos/{post.id}", {"remix_allowed": False}, format="json").json()
    assert (edited["caption"], edited["remix_allowed"]) == ("new words", False)
    cleared = client.patch(f"/api/v1/videos/{post.id}", {"caption": ""}, format="json").json()
    assert cleared["caption"] == ""


def test_an_empty_edit_is_a_400(auth_client):
    owner = UserFactory()
    post = PostFactory(owner=owner)
    assert code_of(auth_client(owner).patch(f"/api/v1/videos/{post.id}", {}, format="json")) == (
        400,
        "nothing_to_change",
    )


# --- who may change what --------------------------------------------------------------------------


def _attempts(client, video_id):
    url = f"/api/v1/videos/{video_id}"
    return {
        "post": client.post(f"{url}/post", {"caption": "mine now"}, format="json"),
        "patch": client.patch(url, {"caption": "mine now"}, format="json"),
        "unpost": client.post(f"{url}/unpost"),
        "delete": client.delete(url),
    }


@pytest.mark.parametrize("make", [VideoFactory, PostFactory], ids=["draft", "post"])
def test_nobody_but_the_owner_may_change_a_video(auth_client, make):
    # Given Ann's video, and Bob who may even see it (when it is a post)
    video = make()
    bob = UserFactory()
    before = Video.objects.values("state", "caption").get(id=video.id)

    # When Bob tries every change, then each is a 404, as for a video that does not exist
    for name, response in _attempts(auth_client(bob), video.id).items():
        assert code_of(response) == (404, "video_not_found"), name

    assert Video.objects.values("state", "caption").get(id=video.id) == before


def test_a_removed_video_is_gone_for_its_owner_too(auth_client):
    owner, moderator = UserFactory(), UserFactory(is_staff=True)
    post = PostFactory(owner=owner)
    video_remove(video_id=post.id, by_id=moderator.id, reason="spam")
    client = auth_client(owner)

    assert code_of(client.get(f"/api/v1/videos/{post.id}")) == (404, "video_not_found")
    for name, response in _attempts(client, post.id).items():
        assert code_of(response) == (404, "video_not_found"), name
    post.refresh_from_db()
    assert (post.state, post.removed_by_id, post.removed_reason) == ("removed", moderator.id, "spam")


def test_blocked_members_do_not_see_a_post_either_way(auth_client):
    owner, blocked, blocker = UserFactory.create_batch(3)
    post = PostFactory(owner=owner)
    BlockFactory(blocker=owner, blocked=blocked)
    BlockFactory(blocker=blocker, blocked=owner)
    for member in (blocked, blocker):
        assert code_of(auth_client(member).get(f"/api/v1/videos/{post.id}")) == (404, "video_not_found")


# --- unposting and deleting ------------------------------------------------------------------------


def test_unposting_takes_a_post_back_to_the_drafts(auth_client):
    owner, viewer = UserFactory.create_batch(2)
    post = PostFactory(owner=owner)
    client = auth_client(owner)

    card = client.post(f"/api/v1/videos/{post.id}/unpost").json()

    assert card["state"] == "draft"
    assert [d["id"] for d in client.get("/api/v1/me/drafts").json()["results"]] == [str(post.id)]
    assert code_of(auth_client(viewer).get(f"/api/v1/videos/{post.id}")) == (404, "video_not_found")


def test_deleting_removes_the_files_and_leaves_a_tombstone(
    auth_client, client, django_capture_on_commit_callbacks
):
    # Given a post with a playable link handed out before
    owner = UserFactory()
    post = PostFactory(owner=owner, caption="bye")
    files = [post.video.name, post.poster.name]
    link = path_of(auth_client(owner).get(f"/api/v1/videos/{post.id}").json()["video_url"])
    assert all(default_storage.exists(name) for name in files)

    # When its owner deletes it
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client(owner).delete(f"/api/v1/videos/{post.id}")

    # Then the files are gone, the row stays as an empty tombstone, and nothing reaches it
    assert response.status_code == 204
    assert not any(default_storage.exists(name) for name in files)
    post.refresh_from_db()
    assert (post.state, post.caption, post.prompt, post.video.name) == ("deleted", "", "", "")
    assert client.get(link).status_code == 404
    assert code_of(auth_client(owner).get(f"/api/v1/videos/{post.id}")) == (404, "video_not_found")
    assert code_of(auth_client(owner).delete(f"/api/v1/videos/{post.id}")) == (404, "video_not_found")


def test_media_links_die_with_a_removal(auth_client, client):
    owner = UserFactory()
    post = PostFactory(owner=owner)
    card = auth_client(owner).get(f"/api/v1/videos/{post.id}").json()
    assert client.get(path_of(card["poster_url"])).status_code == 200

    video_remove(video_id=post.id, by_id=None, reason="policy")

    assert client.get(path_of(card["poster_url"])).status_code == 404
    assert client.get(path_of(card["video_url"])).status_code == 404


# --- downloads -------------------------------------------------------------------------------------


def test_a_viewer_downloads_a_post_as_an_attachment_and_it_is_counted(auth_client, client):
    # Given a post and someone who may see it
    post, viewer = PostFactory(), UserFactory()

    # When they ask for a download link and fetch it
    answer = auth_client(viewer).post(f"/api/v1/videos/{post.id}/download")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["expires_in_s"] == 900
    file = client.get(path_of(answer.json()["url"]))

    # Then the MP4 comes as an attachment, and the post counts one download
    assert file.status_code == 200
    assert file["Content-Disposition"] == f'attachment; filename="kino-{post.id}.mp4"'
    assert file["Content-Type"] == "video/mp4"
    assert body_of(file) == MP4_BYTES
    assert VideoStats.objects.get(video=post).downloads == 1
    auth_client(viewer).post(f"/api/v1/videos/{post.id}/download")
    assert auth_client(viewer).get(f"/api/v1/videos/{post.id}").json()["stats"]["downloads"] == 2


def test_the_owner_downloads_a_draft_and_a_playing_link_is_no_attachment(auth_client, client):
    owner = UserFactory()
    draft = VideoFactory(owner=owner)
    link = auth_client(owner).post(f"/api/v1/videos/{draft.id}/download").json()["url"]
    assert client.get(path_of(link))["Content-Disposition"].startswith("attachment;")
    playing = auth_client(owner).get(f"/api/v1/videos/{draft.id}").json()["video_url"]
    assert not client.get(path_of(playing)).get("Content-Disposition", "").startswith("attachment")


def test_downloads_are_refused_where_the_video_is_hidden(auth_client, client):
    owner, stranger, blocked = UserFactory.create_batch(3)
    draft, post = VideoFactory(owner=owner), PostFactory(owner=owner)
    BlockFactory(blocker=owner, blocked=blocked)
    assert code_of(auth_client(stranger).post(f"/api/v1/videos/{draft.id}/download")) == (
        404,
        "video_not_found",
    )
    assert code_of(auth_client(blocked).post(f"/api/v1/videos/{post.id}/download")) == (
        404,
        "video_not_found",
    )
    assert VideoStats.objects.get(video=draft).downloads == 0
    assert VideoStats.objects.get(video=post).downloads == 0


def test_a_download_link_dies_with_its_video(auth_client, client):
    viewer = UserFactory()
    removed, deleted = PostFactory(), PostFactory()
    links = {
        video.id: path_of(auth_client(viewer).post(f"/api/v1/videos/{video.id}/download").json()["url"])
        for video in (removed, deleted)
    }
    video_remove(video_id=removed.id, by_id=None, reason="policy")
    Video.objects.filter(id=deleted.id).update(state=Video.State.DELETED)  # files left behind, say
    assert client.get(links[removed.id]).status_code == 404
    assert client.get(links[deleted.id]).status_code == 404
