"""The share page in headless Chromium on a phone-sized screen, served by the real ASGI server: a real
H.264/AAC clip plays (readyState reaches HAVE_ENOUGH_DATA and time moves), the remix link leads to
the parent's page, and an unposted video's link becomes the plain 404 page."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import numpy as np
import pytest

from feed.services import draft_create_for_job, video_post, video_unpost
from mediakit import Clip
from mediakit.encode import clip_encode
from tests.browser import chromium
from tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
PLAYS_TIMEOUT_MS = 20_000

# The video element's state, as a player reports it.
VIDEO_STATE = """() => { const v = document.querySelector('video');
  return {readyState: v.readyState, paused: v.paused, time: v.currentTime, error: v.error && v.error.code,
          width: v.videoWidth, height: v.videoHeight, duration: v.duration}; }"""


def share_page_plays(page: Any, url: str) -> dict[str, Any]:
    """Open a share page and wait until its video has enough data to play through and its time moves;
    the video element's state then. For any test with a browser page (the end-to-end test too)."""
    page.goto(url)
    page.wait_for_function("() => document.querySelector('video').readyState === 4", timeout=PLAYS_TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelector('video').currentTime > 0.3", timeout=PLAYS_TIMEOUT_MS
    )
    return page.evaluate(VIDEO_STATE)


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def phone(browser, tmp_path):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True, user_agent=IPHONE_UA
    )
    page = context.new_page()
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    yield page
    page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
    context.close()


@pytest.fixture
def server(transactional_db, tmp_path):
    """Kino's ASGI server in its own process (no worker): files the test writes to MEDIA_ROOT are its."""
    from tests.live import LiveStack

    (tmp_path / "mail").mkdir()
    stack = LiveStack(tmp_path / "mail", web_workers=1, worker=False).start()
    yield stack
    stack.stop()


def off_the_loop(write: Callable[[], Any]) -> Any:
    """Run `write` in a thread of its own. Playwright's event loop runs in this one, and the feed's
    writes push WebSocket events through async_to_sync, which refuses to run beside a loop."""
    from django.db import connections

    def run() -> Any:
        try:
            return write()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def real_post(owner, *, caption: str, parent_id=None):
    """A post of a clip encoded as the pipeline encodes one: 3 s of H.264 at 9:16 with AAC sound."""
    rng = np.random.default_rng(7)
    frames = np.repeat(rng.integers(0, 255, (1, 64, 36, 3), dtype=np.uint8), 24, axis=0)
    frames[:, :, :, 0] = np.linspace(0, 255, 24, dtype=np.uint8)[:, None, None]  # it changes over time
    t = np.arange(48000) / 16000
    sound = (0.3 * np.sin(2 * np.pi * 440 * t))[None].astype(np.float32)
    media = clip_encode(Clip(frames=frames, fps=8, audio=sound, sample_rate=16000))
    receipt = off_the_loop(
        lambda: draft_create_for_job(
            owner_id=owner.id,
            job_id=uuid4(),
            prompt="a lighthouse blinking",
            media=media,
            engine="test",
            remix_of_id=parent_id,
        )
    )
    return off_the_loop(lambda: video_post(owner_id=owner.id, video_id=receipt.video_id, caption=caption))


def test_a_shared_post_plays_on_a_phone_and_its_remix_links_back(server, phone):
    maya, kai = UserFactory(username="maya"), UserFactory(username="kai", profile__display_name="Kai")
    original = real_post(maya, caption="the lighthouse")
    remix = real_post(kai, caption="the lighthouse, at night <3", parent_id=original.id)

    statuses: list[int] = []
    phone.on("response", lambda r: r.url.endswith("/video.mp4") and statuses.append(r.status))
    state = share_page_plays(phone, f"{server.base}/v/{remix.id}")

    assert state["error"] is None
    assert 206 in statuses  # the player read the file by ranges, through the ASGI server
    assert (state["width"], state["height"]) == (remix.width, remix.height)
    assert state["duration"] == pytest.approx(3, abs=0.2)
    assert not state["paused"]  # it started by itself, muted and inline
    assert phone.locator("meta[property='og:video']").get_attribute("content") == (
        f"{server.base}/v/{remix.id}/video.mp4"
    )
    assert phone.locator("meta[property='og:type']").get_attribute("content") == "video.other"
    assert phone.locator("meta[name='twitter:image']").get_attribute("content") == (
        f"{server.base}/v/{remix.id}/poster.jpg"
    )
    poster = phone.request.get(f"{server.base}/v/{remix.id}/poster.jpg")
    assert (poster.status, poster.headers["content-type"]) == (200, "image/jpeg")
    assert "the lighthouse, at night <3" in phone.inner_text(".caption")
    assert phone.inner_text(".creator").split() == ["Kai", "@kai"]
    # The page fits the phone and broke none of its policies
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.evaluate("window.__csp") == []

    phone.get_by_role("link", name="@maya").click()
    phone.wait_for_url(f"{server.base}/v/{original.id}")
    state = share_page_plays(phone, phone.url)
    assert state["error"] is None
    assert "the lighthouse" in phone.inner_text(".caption")


def test_an_unposted_video_link_is_the_plain_not_found_page(server, phone):
    maya = UserFactory(username="maya")
    post = real_post(maya, caption="here for a moment")
    url = f"{server.base}/v/{post.id}"
    share_page_plays(phone, url)

    off_the_loop(lambda: video_unpost(owner_id=maya.id, video_id=post.id))

    response = phone.goto(url)
    assert response.status == 404
    assert phone.locator("video").count() == 0
    assert "Not Found" in phone.inner_text("h1")
    assert phone.request.get(f"{url}/video.mp4").status == 404
