"""The lookup: copies of an indexed clip are traced back to it (with the time range and the
transforms seen); an unrelated clip and a near-twin (the same scene drawn again) are not.

Clips come from the built-in world (64 x 64 drawn, scaled up to the delivered 256 x 256, the watermark
burned in), fingerprinted as the worker does; each indexed clip's MP4 is what the lookup's pixel
check reads (provenance.confirm.video_file_read, here a dict instead of feed's storage)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from uuid import UUID

import cv2
import numpy as np
import pytest
from PIL import Image

from generation.builtin.world import Scene, scene_render, scene_sample
from mediakit import Clip
from mediakit.encode import clip_encode, frames_for_phones
from mediakit.sampling import clip_from_file
from provenance import confirm
from provenance.fingerprints import clip_prints, prints_store
from provenance.lookup import QUERY_SIDE, Verdict, lookup, query_frames
from provenance.lookup_query import QUERY_FPS, QUERY_SECONDS, lookup_media_read
from provenance.watermark import watermark_burn

FPS = 8.0
HANDLE = "maker"
INDEXED = (101, 102, 103, 104, 105, 106)
pytestmark = pytest.mark.django_db


def _scene(seed: int) -> Scene:
    return scene_sample(np.random.default_rng(seed))


def posted(seed: int, draw: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(frames, sound) of the world's clip `seed`; `draw` renders the same scene with other positions,
    sizes and speeds (a near-twin)."""
    rng = np.random.default_rng(seed if draw is None else draw)
    rendered = scene_render(_scene(seed), rng, frames=32, size=64, fps=FPS)
    return watermark_burn(frames_for_phones(rendered.frames), FPS, HANDLE), rendered.audio


def mp4(frames: np.ndarray, sound: np.ndarray | None, crf: int = 20) -> bytes:
    clip = Clip(np.ascontiguousarray(frames), FPS, None if sound is None else sound[None], 16_000)
    return clip_encode(clip, min_short_side=2, crf=crf).mp4


@pytest.fixture
def indexed(monkeypatch: pytest.MonkeyPatch) -> dict[int, UUID]:
    """The INDEXED clips, fingerprinted and stored, their MP4s readable by the lookup."""
    files: dict[UUID, bytes] = {}
    ids = {}
    for seed in INDEXED:
        frames, sound = posted(seed)
        video_id = ids[seed] = uuid.uuid4()
        prints = clip_prints(frames, FPS, sound, 16_000, handle=HANDLE)
        prints_store(video_id, prints, width=256, height=256, duration_ms=4000)
        files[video_id] = mp4(frames, sound)
    monkeypatch.setattr(confirm, "video_file_read", files.get)
    return ids


def _downloaded(seed: int) -> tuple[np.ndarray, np.ndarray]:
    frames, sound = posted(seed)
    return clip_from_file(mp4(frames, sound), fps=FPS).frames, sound


def _looked_up(data: bytes) -> Verdict:
    return lookup(lookup_media_read(io.BytesIO(data)))  # as the API reads an upload


def _half(frames: np.ndarray) -> np.ndarray:
    return np.stack([cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) for f in frames])


# name: (make the upload from the downloaded frames and sound, the transforms the verdict must name,
#        the video range expected)
COPIES: dict[str, tuple[Callable[[np.ndarray, np.ndarray], bytes], set[str], tuple[float, float]]] = {
    "reencoded": (lambda f, s: mp4(f, s, crf=38), set(), (0.0, 4.0)),
    "scaled_half": (lambda f, s: mp4(_half(f), s, crf=23), {"scaled"}, (0.0, 4.0)),
    "cropped": (lambda f, s: mp4(f[:, :230, :230], s, crf=23), {"cropped"}, (0.0, 4.0)),
    "mirrored": (lambda f, s: mp4(f[:, :, ::-1], s, crf=23), {"mirrored"}, (0.0, 4.0)),
    "excerpt": (lambda f, s: mp4(f[8:], s[16_000:], crf=23), {"excerpt"}, (1.0, 4.0)),
}


@pytest.mark.parametrize("copy", list(COPIES))
def test_a_copy_is_traced_to_its_video(indexed: dict[int, UUID], copy: str) -> None:
    make, transforms, (start, end) = COPIES[copy]
    frames, sound = _downloaded(103)
    verdict = _looked_up(make(frames, sound))
    assert verdict.kind == "from_kino"
    assert verdict.video_id == indexed[103]
    assert transforms <= set(verdict.transforms), verdict.transforms
    assert verdict.video_range_s is not None
    assert verdict.query_range_s is not None
    assert abs(verdict.video_range_s[0] - start) <= 0.3
    assert abs(verdict.video_range_s[1] - end) <= 0.3
    assert verdict.query_range_s[0] == pytest.approx(0.0, abs=0.3)
    assert 0 < verdict.confidence <= 1


def test_query_frames_fall_on_the_grid_and_between_stored_frames() -> None:
    """Eight frames every 0.5 s from the first (the first and the middle one through every window),
    and four more 1/8 s later: half a stored period, so that an excerpt starting anywhere has frames
    on stored ones."""
    query = query_frames(Clip(np.zeros((32, 64, 64, 3), np.uint8), 8.0))
    assert query.times_s.tolist() == [0, 0.125, 0.5, 1, 1.125, 1.5, 2, 2.5, 2.625, 3, 3.5, 3.625]
    windowed = {frame for frame, window, _ in query.probes if window}
    assert [query.times_s[f] for f in sorted(windowed)] == [0.0, 2.0]
    assert len(query.probes) == 2 * (12 + 2 * 5)
    still = query_frames(Clip(np.zeros((1, 64, 64, 3), np.uint8), 8.0))
    assert still.times_s.tolist() == [0.0]
    assert len(still.probes) == 12


@pytest.mark.parametrize("first", [3, 5])
def test_a_panning_excerpt_from_between_stored_frames_is_found(indexed: dict[int, UUID], first: int) -> None:
    """106 pans quickly: a picture 1/8 s off a stored frame hashes far from it, so the query needs
    frames that fall on stored ones wherever the excerpt starts."""
    frames, sound = _downloaded(106)
    excerpt = mp4(frames[first : first + 24], sound[first * 2000 : (first + 24) * 2000], crf=23)
    verdict = _looked_up(excerpt)
    assert (verdict.kind, verdict.video_id) == ("from_kino", indexed[106])
    assert verdict.video_range_s is not None
    assert abs(verdict.video_range_s[0] - first / FPS) <= 0.3


def test_a_mirrored_frame_is_probed_by_hashing_it_flipped() -> None:
    """PDQ's dihedral mirror of a frame's DCT is 40-90 bits off the hash of the flipped frame on the
    world's flat, blocky pictures (6182: a small fish over plain grey); the flipped frame's hash is
    within a few bits of the stored one."""
    frames, _ = posted(6182)
    prints = clip_prints(frames, FPS, None, None)
    stored = prints.hashes[prints.windows == 0]
    query = query_frames(Clip(np.ascontiguousarray(frames[:, :, ::-1]), FPS))
    mirrored = [k for k, (_, window, flipped) in enumerate(query.probes) if flipped and window == 0]
    for k in mirrored:
        assert (stored != query.hashes[k]).sum(axis=1).min() <= 16


def test_a_still_fitting_two_videos_alike_names_neither(
    indexed: dict[int, UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A still that fits two videos alike (here the same clip stored twice; a stitch shows its parts'
    frames) is made in Kino, but which video it came from the pictures cannot say."""
    frames, sound = posted(104)
    twin = uuid.uuid4()
    prints_store(
        twin, clip_prints(frames, FPS, sound, 16_000, handle=HANDLE), width=256, height=256, duration_ms=4000
    )
    stored = confirm.video_file_read
    monkeypatch.setattr(
        confirm, "video_file_read", lambda video_id: stored(indexed[104] if video_id == twin else video_id)
    )
    buffer = io.BytesIO()
    Image.fromarray(_downloaded(104)[0][13]).save(buffer, format="JPEG", quality=90)
    verdict = _looked_up(buffer.getvalue())
    assert (verdict.kind, verdict.video_id, verdict.video_range_s) == ("from_kino", None, None)


def test_a_slow_clip_is_spread_and_an_empty_one_has_no_frames() -> None:
    """A 10 s clip at 3.6 fps: eight frames spread over it, and no frame between them (a decoded frame
    is 0.28 s away)."""
    query = query_frames(Clip(np.zeros((36, 64, 64, 3), np.uint8), 3.6))
    assert [round(float(t), 2) for t in query.times_s] == [0, 1.39, 2.5, 3.89, 5.56, 6.94, 8.06, 9.44]
    assert query_frames(Clip(np.zeros((0, 64, 64, 3), np.uint8), 8.0)).images == []


def test_a_long_large_upload_is_read_from_its_start_at_the_lookup_size() -> None:
    """A 12 s 720p upload: its first QUERY_SECONDS at QUERY_FPS, scaled down to QUERY_SIDE as they are
    decoded (41 frames of 320 x 569 held, 0 to 5 s, not 96 of 720p), and the upload's own length and
    size kept."""
    frames = np.zeros((96, 720, 1280, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(96, dtype=np.uint8)[:, None, None] * 2
    upload = lookup_media_read(io.BytesIO(mp4(frames, None, crf=30)))
    assert upload.clip.frames.shape == (QUERY_SECONDS * QUERY_FPS + 1, QUERY_SIDE, 569, 3)
    assert (upload.seconds, upload.short_side, upload.still) == (12.0, 720, False)
    assert query_frames(upload.clip, upload.short_side).shrink == pytest.approx(QUERY_SIDE / 720)


@pytest.fixture
def long_indexed(monkeypatch: pytest.MonkeyPatch) -> UUID:
    """Clip 106 (a quick pan) made 12 s long, fingerprinted and stored: the world draws 4 s at most
    (its sounds are 4 s), so its 4 s are drawn at 24 fps and played at 8."""
    rng = np.random.default_rng(106)
    rendered = scene_render(_scene(106), rng, frames=96, size=64, fps=3 * FPS)
    frames = watermark_burn(frames_for_phones(rendered.frames), FPS, HANDLE)
    video_id = uuid.uuid4()
    prints = clip_prints(frames, FPS, None, None, handle=HANDLE)
    prints_store(video_id, prints, width=256, height=256, duration_ms=12_000)
    monkeypatch.setattr(confirm, "video_file_read", {video_id: mp4(frames, None)}.get)
    return video_id


def test_a_long_excerpt_scaled_up_from_between_stored_frames_is_found(long_indexed: UUID) -> None:
    """An 8 s excerpt of a 12 s pan, starting 3/8 s in (between stored frames), scaled up to 512 x 512:
    read at 8 fps from its start (a long upload used to be decoded slower, with no frame near a
    stored one) and at the lookup's size; found where it is, as an excerpt, scaled."""
    downloaded = clip_from_file(confirm.video_file_read(long_indexed) or b"", fps=FPS)
    excerpt = np.stack(
        [cv2.resize(f, (512, 512), interpolation=cv2.INTER_CUBIC) for f in downloaded.frames[3:67]]
    )

    verdict = _looked_up(mp4(excerpt, None, crf=23))
    assert (verdict.kind, verdict.video_id) == ("from_kino", long_indexed)
    assert {"excerpt", "scaled"} <= set(verdict.transforms), verdict.transforms
    assert verdict.video_range_s is not None
    assert abs(verdict.video_range_s[0] - 3 / FPS) <= 0.3


def test_a_plain_copy_names_no_transform(indexed: dict[int, UUID]) -> None:
    frames, sound = _downloaded(105)
    verdict = _looked_up(mp4(frames, sound, crf=23))
    assert (verdict.kind, verdict.video_id, verdict.transforms) == ("from_kino", indexed[105], ())


def test_a_still_frame_is_traced_to_its_moment(indexed: dict[int, UUID]) -> None:
    frames, _ = _downloaded(104)
    buffer = io.BytesIO()
    Image.fromarray(frames[13]).save(buffer, format="JPEG", quality=90)
    verdict = _looked_up(buffer.getvalue())
    assert (verdict.kind, verdict.video_id) == ("from_kino", indexed[104])
    assert "still" in verdict.transforms
    assert verdict.video_range_s is not None
    assert abs(verdict.video_range_s[0] - 13 / FPS) <= 0.5


def test_an_unrelated_clip_is_not_from_kino(indexed: dict[int, UUID]) -> None:
    frames, sound = posted(9_001)
    assert _looked_up(mp4(frames, sound, crf=23)).kind == "not_from_kino"


def test_a_near_twin_is_not_taken_for_the_clip(indexed: dict[int, UUID]) -> None:
    """The same scene (colour, shape, motion, background, pan, company) drawn again: it shares the
    indexed clip's background, watermark and shapes, only the object's path differs."""
    for seed in (102, 106):
        frames, sound = posted(seed, draw=77_000 + seed)
        verdict = _looked_up(mp4(frames, sound, crf=23))
        assert verdict.kind == "not_from_kino", (seed, verdict)


def test_nothing_indexed_answers_not_from_kino() -> None:
    frames, sound = posted(101)
    assert _looked_up(mp4(frames, sound, crf=23)).kind == "not_from_kino"
