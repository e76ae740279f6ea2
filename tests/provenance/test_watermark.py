"""The visible watermark: burned in at every position of its schedule, read back by template
matching after H.264 at several qualities, and not read where it is not (another handle, no mark)."""

from __future__ import annotations

import numpy as np
import pytest

from generation.builtin import world
from mediakit import Clip
from mediakit.encode import clip_encode
from mediakit.sampling import clip_from_file
from provenance.watermark import (
    POSITIONS,
    READ_THRESHOLD,
    SLOT_S,
    handle_clean,
    watermark_box,
    watermark_burn,
    watermark_position,
    watermark_read,
)

FPS = 8.0
CYCLE_S = SLOT_S * len(POSITIONS)


@pytest.fixture(scope="module")
def scenes() -> np.ndarray:
    """16 s of the built-in world at 256 px (four 4 s scenes back to back): every position once."""
    rng = np.random.default_rng(24)
    parts = [
        world.scene_render(world.scene_sample(rng), rng, frames=32, size=256, fps=FPS).frames
        for _ in range(round(CYCLE_S / 4))
    ]
    return np.concatenate(parts)


def _decoded(frames: np.ndarray, crf: int) -> np.ndarray:
    """The frames as a phone gets them: H.264 at `crf`, decoded at 2 frames a second."""
    mp4 = clip_encode(Clip(frames=frames, fps=FPS), crf=crf).mp4
    return clip_from_file(mp4, fps=2.0).frames


def test_burn_gives_new_frames_of_the_same_shape_changed_only_inside_the_box(scenes: np.ndarray) -> None:
    # Given frames, when the mark is burned in
    before = scenes.copy()
    marked = watermark_burn(scenes, FPS, "alice_k")

    # Then the input is untouched and the output has its shape and type
    assert np.array_equal(scenes, before)
    assert marked.shape == scenes.shape
    assert marked.dtype == np.uint8
    # and each frame differs from its original inside the mark's box only
    for index in (0, 20, 40, 127):
        x, y, w, h = watermark_box(index / FPS, 256, 256, "alice_k")
        changed = np.any(marked[index] != scenes[index], axis=-1)
        assert changed[y : y + h, x : x + w].mean() > 0.2
        changed[y : y + h, x : x + w] = False
        assert not changed.any()


def test_the_handle_reads_back_at_every_position(scenes: np.ndarray) -> None:
    marked = watermark_burn(scenes, FPS, "alice_k")

    scores = watermark_read(marked, FPS, "alice_k")

    assert len(scores) == len(POSITIONS)  # 16 s: one slot per position
    assert min(scores) >= READ_THRESHOLD, scores


@pytest.mark.parametrize("crf", [20, 28, 35], ids=lambda crf: f"crf{crf}")
def test_the_handle_reads_back_after_h264(scenes: np.ndarray, crf: int) -> None:
    decoded = _decoded(watermark_burn(scenes, FPS, "alice_k"), crf)

    scores = watermark_read(decoded, 2.0, "alice_k")

    assert len(scores) == len(POSITIONS)
    assert min(scores) >= READ_THRESHOLD, scores


@pytest.mark.parametrize(
    ("size", "shade"),
    [((720, 1280), 255), ((720, 1280), 0), ((1280, 720), 128)],
    ids=["vertical-white", "vertical-black", "landscape-grey"],
)
def test_the_handle_reads_on_any_background_and_size(size: tuple[int, int], shade: int) -> None:
    # A flat white or black frame is where white text without its dark halo, or a dark mark, would vanish.
    width, height = size
    frames = np.full((round(4 * FPS), height, width, 3), shade, np.uint8)

    scores = watermark_read(_decoded(watermark_burn(frames, FPS, "x9"), 28), 2.0, "x9")

    assert len(scores) == 2
    assert min(scores) >= READ_THRESHOLD, scores


def test_a_3_s_excerpt_reads_at_both_positions_it_shows(scenes: np.ndarray) -> None:
    # Given a 3 s excerpt from 1.25 s in (the mark moves on 0.75 s into it)
    marked = watermark_burn(scenes, FPS, "alice_k")
    first = round(1.25 * FPS)
    excerpt = marked[first : first + round(3 * FPS)]

    # When it is read knowing where it starts, then both slots read; not knowing, the first does not
    # (most of its frames already show the next position)
    scores = watermark_read(_decoded(excerpt, 28), 2.0, "alice_k", start_s=1.25)
    misplaced = watermark_read(excerpt, FPS, "alice_k")

    assert len(scores) == 2
    assert min(scores) >= READ_THRESHOLD, scores
    assert misplaced[0] < READ_THRESHOLD, misplaced


def test_another_handle_does_not_read(scenes: np.ndarray) -> None:
    decoded = _decoded(watermark_burn(scenes, FPS, "alice_k"), 20)

    for other in ("mallory", "bob", "alice_kk", "k"):
        scores = watermark_read(decoded, 2.0, other)
        assert max(scores) < READ_THRESHOLD, (other, scores)


def test_frames_without_the_mark_do_not_read(scenes: np.ndarray) -> None:
    decoded = _decoded(scenes, 20)

    assert max(watermark_read(decoded, 2.0, "alice_k")) < READ_THRESHOLD


def test_every_3_s_window_shows_the_mark_at_two_positions_no_edge_crop_removes_together() -> None:
    # Cropping up to 30 % away from any one edge leaves the mark whole somewhere in any 3 s.
    width, height, band = 1280, 720, 0.3
    for start in np.arange(0.0, 2 * CYCLE_S, 0.1):
        boxes = {
            watermark_box(float(t), width, height, "alice_k") for t in np.arange(start, start + 3.0, 1 / 30)
        }
        assert len(boxes) >= 2, start
        for edge in ("left", "right", "top", "bottom"):
            assert any(not _touches_band(box, edge, band, width, height) for box in boxes), (start, edge)
    assert {watermark_position(float(t)) for t in np.arange(0, CYCLE_S, SLOT_S)} == set(POSITIONS)


def _touches_band(box: tuple[int, int, int, int], edge: str, band: float, width: int, height: int) -> bool:
    x, y, w, h = box
    return {
        "left": x < band * width,
        "right": x + w > (1 - band) * width,
        "top": y < band * height,
        "bottom": y + h > (1 - band) * height,
    }[edge]


@pytest.mark.parametrize(("width", "height"), [(256, 256), (256, 456), (1280, 720), (720, 1280)])
@pytest.mark.parametrize("handle", ["a" * 30, "m" * 30, "W" * 30, "x9"])
def test_the_mark_stays_inside_the_frame_and_small(width: int, height: int, handle: str) -> None:
    short = min(width, height)
    for position in range(len(POSITIONS)):
        x, y, w, h = watermark_box(position * SLOT_S, width, height, handle)
        assert min(x, y) >= 0
        assert x + w <= width
        assert y + h <= height
        assert w <= 0.56 * short  # the handle line is cut to half the short side (plus its outline)
        assert h <= 0.2 * short


def test_handles_are_drawn_as_account_names_and_capped() -> None:
    assert handle_clean("@alice_k") == "alice_k"
    assert handle_clean("al ice<b>.x-9") == "aliceb.x-9"
    assert handle_clean("a" * 30) == "a" * 18 + ".."
