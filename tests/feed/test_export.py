"""Your data: POST /api/v1/me/export builds one zip of everything the member owns, reports progress on
the WebSocket and ends with a signed download link that lives FEED_EXPORT_TTL_S."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse
from uuid import uuid4

import pytest
from celery import current_app
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from accounts.services import follow_create, member_delete
from feed.export import export_build, exports_sweep
from feed.models import Comment, DataExport, Like, Video
from tests.factories import (
    MP4_BYTES,
    POSTER_BYTES,
    BlockFactory,
    PostFactory,
    UserFactory,
    VideoFactory,
)
from tests.test_asyncapi import document, envelope_errors

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def path_of(url: str) -> str:
    return urlparse(url).path


@pytest.fixture
def exported(auth_client, client, django_capture_on_commit_callbacks):
    """exported(member) → (the export as the API shows it once built, the zip)."""

    def run(member):
        with django_capture_on_commit_callbacks(execute=True):
            started = auth_client(member).post("/api/v1/me/export")
        assert started.status_code == 202, started.content[:300]
        export = auth_client(member).get(f"/api/v1/me/export/{started.json()['id']}").json()
        assert export["state"] == "succeeded", export
        download = client.get(path_of(export["download_url"]))
        assert download.status_code == 200
        return export, zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))

    return run


def read_json(archive: zipfile.ZipFile, name: str):
    return json.loads(archive.read(name))


# --- what the zip holds ---------------------------------------------------------------------------


def test_the_zip_holds_the_profile_posts_drafts_and_their_media(exported):
    # Given a member with an avatar, a post, a draft, a deleted video and one a moderator removed
    member = UserFactory(username="maya", email="maya@example.com")
    member.profile.bio = "I make boats"
    member.profile.avatar.save("face.png", ContentFile(PNG))
    post = PostFactory(owner=member, caption="my first boat")
    draft = VideoFactory(owner=member, prompt="a secret draft")
    deleted = VideoFactory(owner=member, state=Video.State.DELETED, prompt="", video="", poster="")
    removed = PostFactory(owner=member, state=Video.State.REMOVED, removed_at=timezone.now())
    PostFactory()  # someone else's post: not theirs

    # When they export their data
    export, archive = exported(member)

    # Then the zip holds their profile and avatar
    names = set(archive.namelist())
    profile = read_json(archive, "profile/profile.json")
    assert (profile["username"], profile["email"], profile["birthdate"]) == (
        "maya",
        "maya@example.com",
        "1994-05-06",
    )
    assert profile["bio"] == "I make boats"
    assert archive.read("profile/avatar.webp") == PNG  # avatars are stored as WebP
    # every video they own, with the post's and the draft's MP4 and poster, byte for byte
    videos = {v["id"]: v for v in read_json(archive, "videos/videos.json")}
    assert set(videos) == {str(post.id), str(draft.id), str(deleted.id), str(removed.id)}
    assert videos[str(post.id)]["caption"] == "my first boat"
    assert videos[str(draft.id)]["prompt"] == "a secret draft"
    assert videos[str(deleted.id)]["state"] == "deleted"
    for video in (post, draft):
        assert archive.read(f"videos/{video.id}/video.mp4") == MP4_BYTES
        assert archive.read(f"videos/{video.id}/poster.jpg") == POSTER_BYTES
        assert videos[str(video.id)]["files"] == {
            "video": f"videos/{video.id}/video.mp4",
            "poster": f"videos/{video.id}/poster.jpg",
        }
    # but no file of a deleted video, nor of one a moderator took down
    assert not [name for name in names if str(deleted.id) in name or str(removed.id) in name]
    # media stored as is, JSON compressed; a manifest lists every file
    assert archive.getinfo(f"videos/{post.id}/video.mp4").compress_type == zipfile.ZIP_STORED
    assert archive.getinfo("videos/videos.json").compress_type == zipfile.ZIP_DEFLATED
    manifest = read_json(archive, "manifest.json")
    assert manifest["export_id"] == export["id"]
    listed = {name for part in manifest["parts"] for name in part["files"]}
    assert listed | {"manifest.json", "README.txt"} == names
    assert [part["name"] for part in manifest["parts"]][:3] == ["profile", "follows", "blocks"]
    assert "videos/" in archive.read("README.txt").decode()
    assert archive.testzip() is None


def test_the_zip_holds_comments_likes_follows_blocks_and_notifications(exported):
    # Given a member who commented, liked, follows and is followed, blocked someone and was notified
    member, friend, fan, pest, hater = (
        UserFactory(username=name) for name in ("maya", "ali", "fan", "pest", "hater")
    )
    friends_post = PostFactory(owner=friend)
    comment = Comment.objects.create(video=friends_post, author=member, body="lovely boat")
    Comment.objects.create(video=friends_post, author=friend, body="thanks", parent=comment)  # not hers
    Like.objects.create(user=member, video=friends_post)
    follow_create(actor=member, target=friend)
    follow_create(actor=fan, target=member)  # notifies her
    BlockFactory(blocker=member, blocked=pest)
    BlockFactory(blocker=hater, blocked=member)  # who blocked her is the other person's business

    # When she exports her data
    _, archive = exported(member)

    # Then each is there, and nothing of other people's
    comments = read_json(archive, "comments/comments.json")
    assert [(c["id"], c["video_id"], c["body"]) for c in comments] == [
        (str(comment.id), str(friends_post.id), "lovely boat")
    ]
    assert [like["video_id"] for like in read_json(archive, "likes/likes.json")] == [str(friends_post.id)]
    follows = read_json(archive, "follows/follows.json")
    assert [f["username"] for f in follows["following"]] == ["ali"]
    assert [f["username"] for f in follows["followers"]] == ["fan"]
    assert [b["username"] for b in read_json(archive, "blocks/blocks.json")["blocking"]] == ["pest"]
    assert "hater" not in json.dumps(read_json(archive, "blocks/blocks.json"))
    notifications = read_json(archive, "notifications/notifications.json")["notifications"]
    assert [(n["type"], n["target_id"]) for n in notifications] == [("followed", str(member.id))]


def test_a_file_the_storage_lost_is_named_in_the_manifest_not_a_failure(exported):
    # Given a post whose MP4 is gone from the storage (its poster is still there)
    member = UserFactory()
    post = PostFactory(owner=member)
    post.video.storage.delete(post.video.name)

    # When its owner exports their data, then the rest is there and the manifest says what is missing
    _, archive = exported(member)
    assert archive.read(f"videos/{post.id}/poster.jpg") == POSTER_BYTES
    assert f"videos/{post.id}/video.mp4" not in archive.namelist()
    assert read_json(archive, "manifest.json")["missing_files"] == [f"videos/{post.id}/video.mp4"]


# --- progress, one at a time, who may see it ------------------------------------------------------


def test_progress_and_the_end_are_heard_on_the_websocket(
    auth_client, listen, django_capture_on_commit_callbacks
):
    # Given a member listening on their socket
    member = UserFactory()
    PostFactory(owner=member)
    heard = listen(member.id)

    # When they export their data
    with django_capture_on_commit_callbacks(execute=True):
        export_id = auth_client(member).post("/api/v1/me/export").json()["id"]

    # Then they hear it start, move part by part, and end with the zip made
    events = heard()
    assert [problem for event in events for problem in envelope_errors(document(), event)] == []
    assert {event["data"]["id"] for event in events} == {export_id}
    progress = [event["data"]["percent"] for event in events if event["type"] == "export.progress"]
    assert progress[0] == 0
    assert progress == sorted(progress), progress
    assert len(set(progress)) >= 5, progress
    assert progress[-1] < 100
    assert events[-1]["type"] == "export.succeeded"
    assert (events[-1]["data"]["state"], events[-1]["data"]["percent"]) == ("succeeded", 100)


def test_the_documented_states_are_the_exports():
    from config.asyncapi import EXPORT_STATES

    assert tuple(DataExport.State.values) == EXPORT_STATES


def test_one_export_at_a_time(auth_client):
    # Given a member whose export is queued (its task has not run yet)
    member = UserFactory()
    started = auth_client(member).post("/api/v1/me/export")
    assert started.status_code == 202
    body = started.json()
    assert (body["state"], body["percent"], body["download_url"]) == ("queued", 0, None)

    # When they ask for another, then it is refused while the first one is queued or running
    again = auth_client(member).post("/api/v1/me/export")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "export_in_progress")
    DataExport.objects.filter(id=body["id"]).update(state="running")
    assert auth_client(member).post("/api/v1/me/export").status_code == 409
    assert DataExport.objects.filter(user=member).count() == 1

    # and accepted again once it has ended
    DataExport.objects.filter(id=body["id"]).update(state="queued")
    assert export_build(export_id=body["id"]) == "succeeded"
    assert auth_client(member).post("/api/v1/me/export").status_code == 202


def test_requests_at_once_make_one_export(transactional_db, auth_client, monkeypatch):
    # Given no worker (the accepted export waits in the broker's queue, flushed before the next test)
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    member = UserFactory()
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def ask() -> None:
        try:
            barrier.wait()
            codes.append(auth_client(member).post("/api/v1/me/export").status_code)
        finally:
            connection.close()

    # When the member's devices ask eight times at once
    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then the database lets exactly one in
    assert sorted(codes) == [202] + [409] * 7
    assert DataExport.objects.filter(user=member).count() == 1


def test_another_members_export_is_not_found(auth_client, exported):
    owner, stranger = UserFactory(), UserFactory()
    export, _ = exported(owner)
    theirs = auth_client(stranger).get(f"/api/v1/me/export/{export['id']}")
    unknown = auth_client(stranger).get(f"/api/v1/me/export/{uuid4()}")
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (404, "export_not_found")
    assert theirs.content == unknown.content


# --- the link -------------------------------------------------------------------------------------


def test_the_link_serves_an_attachment_with_ranges(exported, client, settings):
    member = UserFactory()
    export, _ = exported(member)
    url = path_of(export["download_url"])
    assert export["expires_at"] is not None
    whole = client.get(url)
    assert whole["Content-Disposition"].startswith('attachment; filename="kino-export-')
    assert whole["Content-Type"] == "application/zip"
    assert int(whole["Content-Length"]) == export["size_bytes"] > 0
    part = client.get(url, HTTP_RANGE="bytes=0-3")
    assert (part.status_code, b"".join(part.streaming_content)) == (206, b"PK\x03\x04")
    assert export["expires_at"] > export["finished_at"]
    lived = DataExport.objects.get(id=export["id"])
    assert lived.expires_at - lived.finished_at == timedelta(seconds=settings.FEED_EXPORT_TTL_S)


def test_an_expired_link_is_not_found_and_the_sweep_deletes_the_zip(auth_client, exported, client, settings):
    # Given a built export and its link
    member = UserFactory()
    export, _ = exported(member)
    url = path_of(export["download_url"])
    stored = Path(settings.MEDIA_ROOT) / DataExport.objects.get(id=export["id"]).file.name
    assert stored.is_file()

    # When the link outlives its signature, then it is not found
    settings.FEED_EXPORT_TTL_S = -1
    assert client.get(url).status_code == 404
    settings.FEED_EXPORT_TTL_S = 24 * 3600
    assert client.get(url).status_code == 200
    # a tampered one is refused as such
    assert client.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB")).json()["error"]["code"] == (
        "media_link_invalid"
    )

    # When the export expires, then the link is not found, and no new link is given
    DataExport.objects.filter(id=export["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.get(url)
    assert (expired.status_code, expired.json()["error"]["code"]) == (404, "not_found")
    assert auth_client(member).get(f"/api/v1/me/export/{export['id']}").json()["download_url"] is None

    # and the sweep deletes the zip
    assert exports_sweep() == 1
    assert not stored.exists()
    assert DataExport.objects.get(id=export["id"]).file.name == ""


def test_deleting_the_account_deletes_its_zips(
    exported, client, settings, django_capture_on_commit_callbacks
):
    member = UserFactory()
    export, _ = exported(member)
    stored = Path(settings.MEDIA_ROOT) / DataExport.objects.get(id=export["id"]).file.name
    with django_capture_on_commit_callbacks(execute=True):
        member_delete(user=member)
    assert not stored.exists()
    assert client.get(path_of(export["download_url"])).status_code == 404


# --- failures end closed ---------------------------------------------------------------------------


def test_a_storage_outage_fails_the_export_and_leaves_no_zip(
    auth_client, listen, settings, django_capture_on_commit_callbacks
):
    from tests.storages import FlakyStorage

    # Given a storage that fails the next save (the zip's)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.storages.FlakyStorage"}}
    member = UserFactory()
    PostFactory(owner=member)
    FlakyStorage.failures = 1
    heard = listen(member.id)

    # When the member exports their data
    with django_capture_on_commit_callbacks(execute=True):
        export_id = auth_client(member).post("/api/v1/me/export").json()["id"]

    # Then the export failed, said so, and left nothing behind; another may start
    FlakyStorage.failures = 0
    export = auth_client(member).get(f"/api/v1/me/export/{export_id}").json()
    assert (export["state"], export["error_code"], export["download_url"]) == (
        "failed",
        "export_failed",
        None,
    )
    assert heard()[-1]["type"] == "export.failed"
    assert not (Path(settings.MEDIA_ROOT) / "exports").exists() or not any(
        (Path(settings.MEDIA_ROOT) / "exports").rglob("*.zip")
    )
    assert auth_client(member).post("/api/v1/me/export").status_code == 202


def test_the_sweep_fails_exports_whose_worker_was_lost(
    auth_client, listen, settings, django_capture_on_commit_callbacks
):
    # Given an export running since long before any worker could still be on it, and a fresh one
    member, other = UserFactory(), UserFactory()
    long_ago = timezone.now() - timedelta(seconds=2 * settings.CELERY_VISIBILITY_TIMEOUT + 60)
    lost = DataExport.objects.create(user=member, state="running", created_at=long_ago)
    fresh = DataExport.objects.create(user=other, state="running")
    heard = listen(member.id)

    # When the sweep runs
    with django_capture_on_commit_callbacks(execute=True):
        assert exports_sweep() == 1

    # Then the lost one failed (and its member may start another); the fresh one runs on
    lost.refresh_from_db()
    assert (lost.state, lost.error_code) == ("failed", "export_interrupted")
    fresh.refresh_from_db()
    assert fresh.state == "running"
    assert [event["type"] for event in heard()] == ["export.failed"]
    assert auth_client(member).post("/api/v1/me/export").status_code == 202
    # and a late run of its message does nothing
    assert export_build(export_id=lost.id) == "skipped"
