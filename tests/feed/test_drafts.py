"""Drafts: only their owner sees them; media through short-lived signed URLs with range requests."""

from __future__ import annotations

from urllib.parse import urlparse
from uuid import uuid4

import pytest
from django.core import signing

from feed.models import Video
from feed.services import draft_create_for_job
from mediakit import EncodedClip
from tests.factories import PostFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db
MP4 = bytes(range(256)) * 40  # 10,240 bytes standing in for a clip


def make_draft(owner):
    media = EncodedClip(
        mp4=MP4,
        poster_jpeg=b"\xff\xd8poster",
        width=256,
        height=512,
        duration_ms=2000,
        fps=8.0,
        has_audio=True,
    )
    return draft_create_for_job(
        owner_id=owner.id, job_id=uuid4(), prompt="a red ball", media=media, engine="test"
    )


def path_of(url: str) -> str:
    return urlparse(url).path


def test_owner_sees_the_draft_and_plays_it(auth_client, client):
    owner = UserFactory()
    receipt = make_draft(owner)
    video = auth_client(owner).get(f"/api/v1/videos/{receipt.video_id}").json()
    assert video["has_audio"] is True
    assert video["urls_expire_in_s"] == 900
    full = client.get(path_of(video["video_url"]))
    assert full.status_code == 200
    assert b"".join(full.streaming_content) == MP4
    assert full["Accept-Ranges"] == "bytes"
    assert full["Content-Type"] == "video/mp4"
    drafts = auth_client(owner).get("/api/v1/me/drafts").json()["results"]
    assert [d["id"] for d in drafts] == [str(receipt.video_id)]


@pytest.mark.parametrize(
    ("header", "status", "content_range", "body"),
    [
        pytest.param("bytes=0-99", 206, "bytes 0-99/10240", MP4[:100], id="first-100"),
        pytest.param("bytes=10000-", 206, "bytes 10000-10239/10240", MP4[10000:], id="open-ended"),
        pytest.param("bytes=-40", 206, "bytes 10200-10239/10240", MP4[-40:], id="suffix"),
        pytest.param("bytes=10000-99999", 206, "bytes 10000-10239/10240", MP4[10000:], id="past-the-end"),
        pytest.param("bytes=20000-", 416, "bytes */10240", b"", id="unsatisfiable"),
    ],
)
def test_range_requests(auth_client, client, header, status, content_range, body):
    owner = UserFactory()
    video = auth_client(owner).get(f"/api/v1/videos/{make_draft(owner).video_id}").json()
    response = client.get(path_of(video["video_url"]), HTTP_RANGE=header)
    assert response.status_code == status
    assert response["Content-Range"] == content_range
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content == body


def test_other_people_cannot_see_a_draft(auth_client, client):
    owner, stranger = UserFactory(), UserFactory()
    receipt = make_draft(owner)
    response = auth_client(stranger).get(f"/api/v1/videos/{receipt.video_id}")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "video_not_found")
    assert auth_client(stranger).get("/api/v1/me/drafts").json()["results"] == []
    # The file is not reachable by its storage path either
    name = Video.objects.get(id=receipt.video_id).video.name
    assert client.get(f"/media/{name}").status_code == 404


def test_tampered_and_expired_links_are_refused(auth_client, client, settings):
    owner = UserFactory()
    url = path_of(auth_client(owner).get(f"/api/v1/videos/{make_draft(owner).video_id}").json()["video_url"])
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert client.get(tampered).json()["error"]["code"] == "media_link_invalid"
    forged = signing.dumps({"f": "avatars/../../etc/passwd"}, salt="another-salt")
    assert client.get(f"/media/signed/{forged}").status_code == 403
    settings.MEDIA_URL_TTL_S = -1
    expired = client.get(url)
    assert (expired.status_code, expired.json()["error"]["code"]) == (403, "media_link_invalid")


def test_one_draft_per_job_however_often_it_is_made(auth_client):
    owner = UserFactory()
    job_id = uuid4()
    media = EncodedClip(mp4=MP4, poster_jpeg=b"p", width=2, height=2, duration_ms=1, fps=1.0, has_audio=False)
    first = draft_create_for_job(owner_id=owner.id, job_id=job_id, prompt="p", media=media, engine="e")
    again = draft_create_for_job(owner_id=owner.id, job_id=job_id, prompt="p", media=media, engine="e")
    assert (first.created, again.created, first.video_id) == (True, False, again.video_id)


def test_media_links_use_the_clients_host_in_development_and_site_url_in_production(auth_client, settings):
    settings.ALLOWED_HOSTS = ["192.168.1.20", "testserver"]
    owner = UserFactory()
    receipt = make_draft(owner)
    from_the_lan = auth_client(owner).get(f"/api/v1/videos/{receipt.video_id}", HTTP_HOST="192.168.1.20:8000")
    assert from_the_lan.json()["video_url"].startswith("http://192.168.1.20:8000/media/signed/")
    settings.PRODUCTION, settings.SITE_URL = True, "https://kino.example.com"
    behind_a_proxy = auth_client(owner).get(
        f"/api/v1/videos/{receipt.video_id}", HTTP_HOST="192.168.1.20:8000"
    )
    assert behind_a_proxy.json()["video_url"].startswith("https://kino.example.com/media/signed/")


def test_my_drafts_list_only_my_drafts_as_cards(auth_client):
    # Given a draft, a post, a deleted draft of mine and someone else's draft
    me = UserFactory(username="maker")
    older, newer = VideoFactory(owner=me), VideoFactory(owner=me)
    PostFactory(owner=me)
    VideoFactory(owner=me, state=Video.State.DELETED)
    VideoFactory()

    # When I list my drafts, then only my two drafts, newest first, each a full card
    drafts = auth_client(me).get("/api/v1/me/drafts").json()["results"]
    assert [d["id"] for d in drafts] == [str(newer.id), str(older.id)]
    assert {d["state"] for d in drafts} == {"draft"}
    assert drafts[0]["creator"]["username"] == "maker"
    assert (drafts[0]["posted_at"], drafts[0]["mentions"], drafts[0]["stats"]["likes"]) == (None, [], 0)
