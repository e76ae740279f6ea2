"""The public share page of a post (/v/<id>) and its public media, as anyone sees them (no login)."""

from __future__ import annotations

from html.parser import HTMLParser
from uuid import uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feed.models import Video
from feed.services import video_delete, video_unpost
from feed.share import share_url
from tests.factories import MP4_BYTES, POSTER_BYTES, BlockFactory, PostFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db
HOST = "http://testserver"


class _Page(HTMLParser):
    """The meta tags, the video element and the text of a page, as a browser's parser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.video: dict[str, str | None] = {}
        self.links: dict[str, str] = {}
        self.text: list[str] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and (found.get("property") or found.get("name")):
            self.meta[str(found.get("property") or found.get("name"))] = str(found["content"])
        elif tag == "video":
            self.video = found
        elif tag == "a":
            self._href = found.get("href")

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._href is not None:
            self.links[data.strip()] = self._href
            self._href = None


def parsed(response) -> _Page:
    page = _Page()
    page.feed(response.content.decode())
    return page


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_post_has_a_public_page_that_unfurls(client):
    owner = UserFactory(username="maya", profile__display_name="Maya R")
    post = PostFactory(owner=owner, caption="Dawn over the harbour", width=256, height=448)

    response = client.get(f"/v/{post.id}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "public, no-cache"  # no cache shows it once it is unposted
    page = parsed(response)
    page_url, media = f"{HOST}/v/{post.id}", f"{HOST}/v/{post.id}"
    assert page.meta["og:type"] == "video.other"
    assert page.meta["og:title"] == "Maya R (@maya) on Kino"
    assert page.meta["og:description"] == "Dawn over the harbour"
    assert page.meta["og:url"] == page_url
    assert page.meta["og:image"] == f"{media}/poster.jpg"
    assert page.meta["og:video"] == f"{media}/video.mp4"
    assert page.meta["og:video:type"] == "video/mp4"
    assert (page.meta["og:video:width"], page.meta["og:video:height"]) == ("256", "448")
    assert page.meta["twitter:card"] == "summary_large_image"
    assert page.meta["twitter:image"] == f"{media}/poster.jpg"
    assert "og:video:secure_url" not in page.meta  # only for https links
    assert page.meta["viewport"].startswith("width=device-width")
    # The video plays by itself on a phone: muted, inline, looping, with its poster first
    assert page.video["src"] == f"{media}/video.mp4"
    assert page.video["poster"] == f"{media}/poster.jpg"
    assert {"controls", "playsinline", "muted", "autoplay", "loop"} <= set(page.video)
    text = " ".join(" ".join(page.text).split())
    assert "Maya R @maya" in text
    assert "Dawn over the harbour" in text
    assert share_url(response.wsgi_request, post.id) == page_url


def test_the_page_works_under_the_content_security_policy(client):
    post = PostFactory()
    response = client.get(f"/v/{post.id}")
    policy = response["Content-Security-Policy"]
    # Media and images come from Kino itself; the page runs no script at all
    assert "media-src 'self'" in policy
    assert "img-src 'self'" in policy
    assert "<script" not in response.content.decode()


def test_https_sites_name_secure_urls(client, settings):
    settings.PRODUCTION, settings.SITE_URL = True, "https://kino.example"
    post = PostFactory()
    page = parsed(client.get(f"/v/{post.id}"))
    assert page.meta["og:url"] == f"https://kino.example/v/{post.id}"
    assert page.meta["og:video:secure_url"] == f"https://kino.example/v/{post.id}/video.mp4"
    assert page.meta["og:image"] == f"https://kino.example/v/{post.id}/poster.jpg"


def test_the_caption_is_escaped(client):
    post = PostFactory(caption='<script>alert(1)</script> "quoted" & <b>bold</b>')
    response = client.get(f"/v/{post.id}")
    html = response.content.decode()
    assert "<script>" not in html
    assert "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = parsed(response)
    assert page.meta["og:description"] == post.caption  # attribute-escaped, read back whole


def test_without_a_caption_the_description_names_the_creator(client):
    post = PostFactory(owner=UserFactory(username="quiet", profile__display_name=""), caption="")
    page = parsed(client.get(f"/v/{post.id}"))
    assert page.meta["og:title"] == "@quiet on Kino"
    assert page.meta["og:description"] == "A video by @quiet on Kino."


def test_a_long_caption_is_shortened_in_the_tags_only(client):
    post = PostFactory(caption="word " * 100)
    response = client.get(f"/v/{post.id}")
    page = parsed(response)
    assert len(page.meta["og:description"]) <= 200
    assert page.meta["og:description"].endswith("…")
    assert ("word " * 100).strip() in response.content.decode()


def test_a_remix_names_and_links_its_parent(client):
    parent = PostFactory(owner=UserFactory(username="origin"))
    remix = PostFactory(parent=parent)
    page = parsed(client.get(f"/v/{remix.id}"))
    assert page.links["@origin"] == f"{HOST}/v/{parent.id}"
    assert "Remix of" in " ".join(page.text)


@pytest.mark.parametrize("gone", [Video.State.DRAFT, Video.State.REMOVED, Video.State.DELETED])
def test_a_remix_of_a_parent_gone_private_says_so_without_a_link(client, gone):
    parent = PostFactory(owner=UserFactory(username="origin"))
    remix = PostFactory(parent=parent)
    Video.objects.filter(id=parent.id).update(state=gone)
    response = client.get(f"/v/{remix.id}")
    assert response.status_code == 200
    page = parsed(response)
    assert page.links == {}
    assert "@origin" not in response.content.decode()
    assert "no longer available" in " ".join(page.text)


def test_the_page_is_one_query(client):
    remix = PostFactory(parent=PostFactory())
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/v/{remix.id}").status_code == 200
    video_queries = [q for q in queries.captured_queries if "feed_video" in q["sql"]]
    assert len(video_queries) == 1


def test_head_answers_like_get_without_a_body(client):
    post = PostFactory()
    response = client.head(f"/v/{post.id}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.content == b""


def test_other_methods_are_refused(client):
    post = PostFactory()
    assert client.post(f"/v/{post.id}").status_code == 405


def test_blocks_do_not_hide_a_share_page(client):
    post = PostFactory()
    blocked = UserFactory()
    BlockFactory(blocker=post.owner, blocked=blocked)
    client.force_login(blocked)  # even signed in on the web, a shared link opens
    assert client.get(f"/v/{post.id}").status_code == 200


def _draft():
    return VideoFactory()


def _removed():
    return PostFactory(state=Video.State.REMOVED, removed_at=timezone.now())


def _deleted():
    post = PostFactory()
    video_delete(owner_id=post.owner_id, video_id=post.id)
    return post


def _unposted():
    post = PostFactory()
    video_unpost(owner_id=post.owner_id, video_id=post.id)
    return post


def _owner_deactivated():
    post = PostFactory()
    type(post.owner).objects.filter(id=post.owner_id).update(is_active=False)
    return post


NOT_PUBLIC = [
    pytest.param(_draft, id="draft"),
    pytest.param(_removed, id="removed"),
    pytest.param(_deleted, id="deleted"),
    pytest.param(_unposted, id="unposted"),
    pytest.param(_owner_deactivated, id="owner-deactivated"),
]


@pytest.mark.parametrize("make", NOT_PUBLIC)
def test_anything_but_a_public_post_is_the_plain_404_page(client, make):
    video = make()
    unknown = client.get(f"/v/{uuid4()}")
    response = client.get(f"/v/{video.id}")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert response.content == unknown.content  # same bytes as an id that never existed
    assert b"Not Found" in response.content
    assert str(video.id).encode() not in response.content
    for part in ("video.mp4", "poster.jpg"):
        media = client.get(f"/v/{video.id}/{part}")
        assert media.status_code == 404
        assert media.content == unknown.content


def test_the_404_page_stays_plain_with_debug_on(client, settings):
    settings.DEBUG = True
    response = client.get(f"/v/{uuid4()}")
    assert response.status_code == 404
    assert b"URLconf" not in response.content  # not Django's technical page listing the routes


def test_a_path_that_is_not_an_id_is_not_found(client):
    assert client.get("/v/not-a-uuid").status_code == 404
    post = PostFactory()
    assert client.get(f"/v/{post.id}/clip.mov").status_code == 404
    assert client.get(f"/v/{post.id}/").status_code == 404


# --- the public media ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "content_type", "content"),
    [("video.mp4", "video/mp4", MP4_BYTES), ("poster.jpg", "image/jpeg", POSTER_BYTES)],
)
def test_anyone_can_fetch_a_posts_media(client, part, content_type, content):
    post = PostFactory()
    response = client.get(f"/v/{post.id}/{part}")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(content))
    assert response["Cache-Control"] == "public, no-cache"  # gone at once when unposted
    assert body_of(response) == content


@pytest.mark.parametrize(
    ("header", "status", "content_range", "start", "end"),
    [
        pytest.param("bytes=0-99", 206, "bytes 0-99/{n}", 0, 100, id="first-100"),
        pytest.param("bytes=1000-", 206, "bytes 1000-{last}/{n}", 1000, None, id="open-ended"),
        pytest.param("bytes=-40", 206, "bytes {tail}-{last}/{n}", -40, None, id="suffix"),
        pytest.param("bytes=99999-", 416, "bytes */{n}", 0, 0, id="unsatisfiable"),
    ],
)
def test_the_video_answers_range_requests(client, header, status, content_range, start, end):
    post = PostFactory()
    n = len(MP4_BYTES)
    response = client.get(f"/v/{post.id}/video.mp4", HTTP_RANGE=header)
    assert response.status_code == status
    assert response["Content-Range"] == content_range.format(n=n, last=n - 1, tail=n - 40)
    assert body_of(response) == MP4_BYTES[start:end]


def test_head_of_the_video_gives_its_size(client):
    post = PostFactory()
    response = client.head(f"/v/{post.id}/video.mp4")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(MP4_BYTES))


def test_the_media_goes_private_with_the_post(client):
    post = PostFactory()
    assert client.get(f"/v/{post.id}/video.mp4").status_code == 200
    video_unpost(owner_id=post.owner_id, video_id=post.id)
    assert client.get(f"/v/{post.id}/video.mp4").status_code == 404
    assert client.get(f"/v/{post.id}/poster.jpg").status_code == 404
    assert client.get(f"/v/{post.id}").status_code == 404


def test_a_post_whose_file_went_missing_is_not_found(client):
    post = PostFactory()
    post.video.storage.delete(post.video.name)
    assert client.get(f"/v/{post.id}/video.mp4").status_code == 404
