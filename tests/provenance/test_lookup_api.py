"""POST /api/v1/provenance/lookup: anyone may ask; copies of posts name the post, copies of drafts and
removed posts say only "made in Kino", unrelated clips are not from Kino; bad uploads are 4xx."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import Any

import av
import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from feed.models import Video
from generation.builtin import world
from mediakit import Clip
from mediakit.encode import clip_encode, frames_for_phones
from provenance.fingerprints import clip_prints, prints_store
from provenance.watermark import watermark_burn
from tests.factories import PostFactory, UserFactory, VideoFactory

URL = "/api/v1/provenance/lookup"
FPS = 8.0

pytestmark = pytest.mark.django_db


def _scene_clip(scene: world.Scene, seed: int) -> Clip:
    """4 s of a built-in world scene as Kino delivers it (drawn at 64 px, scaled to 256), with its sound."""
    rendered = world.scene_render(scene, np.random.default_rng(seed), frames=32, size=64, fps=FPS)
    frames = frames_for_phones(rendered.frames)
    return Clip(frames=frames, fps=FPS, audio=rendered.audio[None], sample_rate=world.SAMPLE_RATE)


POSTED_SCENE = world.Scene("red", "ball", "bounce", "beach")
OTHER_SCENE = world.Scene("blue", "star", "left", "night", speed="quickly")


def _fingerprinted(video: Any, clip: Clip) -> None:
    """What the worker does at draft time: the clip's MP4 as the video's file, its prints stored
    under the video's id."""
    encoded = clip_encode(clip, min_short_side=2)
    video.video.save("clip.mp4", ContentFile(encoded.mp4), save=True)
    prints = clip_prints(clip.frames, clip.fps, clip.audio, clip.sample_rate)
    prints_store(
        video.id, prints, width=encoded.width, height=encoded.height, duration_ms=encoded.duration_ms
    )


def _mp4(clip: Clip) -> bytes:
    """A copy as it circulates: downloaded and encoded again at a lower quality."""
    return clip_encode(clip, min_short_side=2, crf=28).mp4


def _upload(api, data: bytes, name: str = "copy.mp4"):
    return api.post(URL, {"file": _named(data, name)}, format="multipart")


def _named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


@pytest.fixture
def posted():
    clip = _scene_clip(POSTED_SCENE, 1)
    post = PostFactory(owner=UserFactory(username="maya"), caption="a red ball bouncing on the beach")
    _fingerprinted(post, clip)
    return post, clip


def test_anyone_finds_the_post_a_downloaded_copy_came_from(api, posted):
    post, clip = posted
    response = _upload(api, _mp4(clip))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["verdict"] == "from_kino"
    assert body["made_in_kino"] is True
    assert body["post"]["id"] == str(post.id)
    assert body["post"]["handle"] == "maya"
    assert body["post"]["caption"] == "a red ball bouncing on the beach"
    assert body["post"]["url"].endswith(f"/v/{post.id}")
    assert body["confidence"] > 0.5
    start, end = body["video_range_s"]
    assert 0 <= start < end <= 4.0
    assert body["query_range_s"][0] == pytest.approx(start, abs=0.6)
    assert isinstance(body["transforms"], list)


def test_a_member_token_works_too(auth_client, posted):
    post, clip = posted
    response = _upload(auth_client(UserFactory()), _mp4(clip))
    assert response.status_code == 200
    assert response.json()["post"]["id"] == str(post.id)


def test_a_mirrored_excerpt_is_found_and_its_transforms_named(api, posted):
    post, clip = posted
    excerpt = Clip(
        frames=np.ascontiguousarray(clip.frames[8:32, :, ::-1]),
        fps=FPS,
        audio=None if clip.audio is None else clip.audio[:, world.SAMPLE_RATE :],
        sample_rate=clip.sample_rate,
    )
    body = _upload(api, _mp4(excerpt)).json()
    assert body["verdict"] == "from_kino"
    assert body["post"]["id"] == str(post.id)
    assert "mirrored" in body["transforms"]
    assert body["video_range_s"][0] == pytest.approx(1.0, abs=0.6)


def test_a_still_frame_is_looked_up(api, posted):
    post, clip = posted
    still = io.BytesIO()
    Image.fromarray(np.repeat(np.repeat(clip.frames[12], 3, axis=0), 3, axis=1)).save(still, format="PNG")
    body = _upload(api, still.getvalue(), "frame.png").json()
    assert body["verdict"] == "from_kino"
    assert body["post"]["id"] == str(post.id)
    assert "still" in body["transforms"]


@pytest.mark.parametrize(
    "hidden",
    [
        pytest.param(lambda: VideoFactory(), id="draft"),
        pytest.param(lambda: PostFactory(state=Video.State.REMOVED), id="removed_post"),
        pytest.param(lambda: PostFactory(state=Video.State.DELETED), id="deleted_post"),
        pytest.param(lambda: PostFactory(owner=UserFactory(is_active=False)), id="deactivated_owner"),
    ],
)
def test_a_copy_of_what_the_public_may_not_see_says_only_made_in_kino(api, hidden):
    video = hidden()
    clip = _scene_clip(POSTED_SCENE, 2)
    _fingerprinted(video, clip)
    body = _upload(api, _mp4(clip)).json()
    assert body["verdict"] == "from_kino"
    assert body["made_in_kino"] is True
    assert body["post"] is None
    assert body["video_range_s"] is None
    assert str(video.id) not in str(body)
    assert video.owner.username not in str(body)


def test_an_unrelated_clip_is_not_from_kino(api, posted):
    body = _upload(api, _mp4(_scene_clip(OTHER_SCENE, 3))).json()
    assert body["verdict"] == "not_from_kino"
    assert body["made_in_kino"] is False
    assert body["post"] is None
    assert body["query_range_s"] is None


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height: signature, IHDR, an empty IDAT (never decoded)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("clip.mp4", b"\x00" * 100)
    return out.getvalue()


def _no_frames_mp4() -> bytes:
    """An MP4 with a video stream that holds no frame (and a second of sound)."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=8)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        sound = container.add_stream("aac", rate=16000)
        sound.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 16000), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        for packet in (*sound.encode(frame), *sound.encode(), *video.encode()):
            container.mux(packet)
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(out, format="GIF")
    return out.getvalue()


def _small_mp4() -> bytes:
    return _mp4(_scene_clip(OTHER_SCENE, 4))


BAD_UPLOADS = {
    "empty_file": (lambda: b"", 400, "invalid_input"),
    "text_file": (lambda: b"hello, is this from Kino?\n" * 20, 400, "lookup_media_invalid"),
    "zip": (_zip, 400, "lookup_media_invalid"),
    "gif": (_gif, 400, "lookup_media_invalid"),
    "truncated_mp4": (lambda: _small_mp4()[:600], 400, "lookup_media_invalid"),
    "mp4_magic_then_junk": (lambda: b"\x00\x00\x00\x18ftypisom" + b"\x00" * 500, 400, "lookup_media_invalid"),
    "png_20000x20000_header": (lambda: _png_header(20000, 20000), 400, "lookup_media_too_many_pixels"),
    "png_5000x5000": (lambda: _png_header(5000, 5000), 400, "lookup_media_too_many_pixels"),
    "png_header_only": (lambda: _png_header(64, 64), 400, "lookup_media_invalid"),
    "video_without_frames": (_no_frames_mp4, 400, "lookup_media_invalid"),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_bad_uploads_are_refused_with_a_code(api, case):
    make, status, code = BAD_UPLOADS[case]
    response = _upload(api, make(), "upload.bin")
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_no_file_and_unknown_fields_are_invalid_input(api):
    response = api.post(URL, {}, format="multipart")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_input")
    assert "file" in response.json()["error"]["fields"]
    response = api.post(URL, {"file": _named(_gif(), "a.gif"), "video_id": "x"}, format="multipart")
    error = response.json()["error"]
    assert (error["code"], error["fields"]["video_id"][0]["code"]) == ("invalid_input", "unknown_field")


def test_json_is_not_accepted(api):
    response = api.post(URL, {"file": "aGVsbG8="}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (415, "unsupported_media_type")


def test_caps_on_bytes_seconds_and_frame_pixels(api, settings):
    mp4 = _small_mp4()  # 4 s, 256x256
    settings.PROVENANCE_LOOKUP_MAX_BYTES = len(mp4) - 1
    response = _upload(api, mp4)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "lookup_media_too_large")
    settings.PROVENANCE_LOOKUP_MAX_BYTES = len(mp4)
    settings.PROVENANCE_LOOKUP_MAX_S = 3.0
    response = _upload(api, mp4)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "lookup_media_too_long")
    settings.PROVENANCE_LOOKUP_MAX_S = 30.0
    settings.PROVENANCE_LOOKUP_MAX_PIXELS = 256 * 256 - 1
    response = _upload(api, mp4)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "lookup_media_too_many_pixels")
    settings.PROVENANCE_LOOKUP_MAX_PIXELS = 256 * 256
    assert _upload(api, mp4).status_code == 200


def test_the_request_body_is_held_to_the_upload_limit(api, settings):
    settings.API_MAX_UPLOAD_BYTES = 2000
    response = _upload(api, b"\x00" * 5000)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "request_too_large")


def test_lookups_are_throttled_per_client(api, settings):
    from rest_framework.throttling import ScopedRateThrottle

    rates: dict[str, str | None] = {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "provenance_lookup": "2/min",
    }
    original, ScopedRateThrottle.THROTTLE_RATES = ScopedRateThrottle.THROTTLE_RATES, rates
    try:
        codes = [_upload(api, _gif(), "a.gif").status_code for _ in range(3)]
        limited = _upload(api, _gif(), "a.gif")
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original
    assert codes == [400, 400, 429]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in limited.headers


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG")
    return out.getvalue()


def _tiny_mp4(frames: int, side: int) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 255, (frames, side, side, 3), dtype=np.uint8)
    silence = np.zeros((1, 16000), np.float32)
    return clip_encode(Clip(frames=pixels, fps=FPS, audio=silence, sample_rate=16000), min_short_side=2).mp4


ODD_BUT_VALID = {
    "png_1x1": lambda: _png((1, 1)),
    "png_1x4000": lambda: _png((1, 4000)),
    "png_rgba": lambda: _png((64, 64), "RGBA"),
    "png_palette": lambda: _png((64, 64), "P"),
    "mp4_one_frame_16px": lambda: _tiny_mp4(1, 16),
    "mp4_2x2_silent": lambda: _tiny_mp4(3, 2),
}


@pytest.mark.parametrize("case", ODD_BUT_VALID, ids=list(ODD_BUT_VALID))
def test_odd_but_valid_media_get_an_answer(api, posted, case):
    response = _upload(api, ODD_BUT_VALID[case](), "odd")
    assert response.status_code == 200
    assert response.json()["verdict"] == "not_from_kino"


def test_a_forged_kino_mark_on_an_unrelated_clip_is_not_from_kino(api):
    # Given a post that carries its moving mark (@maya), as every delivered clip does
    marked = _scene_clip(POSTED_SCENE, 1)
    marked = Clip(marked_frames(marked, "maya"), FPS, marked.audio, marked.sample_rate)
    post = PostFactory(owner=UserFactory(username="maya"))
    _fingerprinted(post, marked)
    # When someone burns the same mark, same handle, into a clip Kino never made (no manifest either)
    forged = _scene_clip(OTHER_SCENE, 3)
    forged = Clip(marked_frames(forged, "maya"), FPS, forged.audio, forged.sample_rate)
    body = _upload(api, _mp4(forged)).json()
    # Then the mark alone proves nothing
    assert (body["verdict"], body["made_in_kino"], body["post"]) == ("not_from_kino", False, None)
    # while the real post, re-encoded, is still found
    assert _upload(api, _mp4(marked)).json()["post"]["id"] == str(post.id)


def marked_frames(clip: Clip, handle: str) -> np.ndarray:
    return watermark_burn(clip.frames, clip.fps, handle)
