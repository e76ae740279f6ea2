"""The model's square frames in the asked aspect: the square untouched, the scene continued around it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation.builtin.frame import frames_extend, frames_fit
from generation.builtin.world import BACKGROUNDS, COLOURS, Scene, scene_render

SIZE, REPEAT = 32, 8  # the shipped model's side; the world's background repeats every quarter of it


def world_clip(background: str, pan: str = "", motion: str = "bounce", seed: int = 0):
    scene = Scene(colour="red", shape="ball", motion=motion, background=background, pan=pan)
    return scene_render(scene, np.random.default_rng(seed), frames=16, size=SIZE)


def background_per_place(rendered) -> np.ndarray:
    """[T, SIZE, REPEAT, 3]: what the world drew at each row and place within a repeat, read from a
    column there that no object covers (the test's own reading of the world, not the module's)."""
    frames, covered = rendered.frames.astype(int), rendered.mask > 0
    out = np.zeros((len(frames), SIZE, REPEAT, 3), int)
    for t in range(len(frames)):
        for y in range(SIZE):
            for place in range(REPEAT):
                free = [x for x in range(place, SIZE, REPEAT) if not covered[t, y, x]]
                out[t, y, place] = frames[t, y, free[0]]
    return out


@pytest.mark.parametrize("background", sorted(BACKGROUNDS))
@pytest.mark.parametrize("pan", ["", "right"], ids=["still", "pan"])
def test_the_world_goes_on_beyond_the_square_as_the_world_draws_it(background, pan):
    rendered = world_clip(background, pan)
    frames, margin = rendered.frames, 12

    tall = frames_extend(frames, top=margin, bottom=margin).astype(int)
    wide = frames_extend(frames, left=margin, right=margin).astype(int)

    # The model's square is untouched, object and motion included.
    assert np.array_equal(tall[:, margin : margin + SIZE], frames)
    assert np.array_equal(wide[:, :, margin : margin + SIZE], frames)
    # Above: the sky, as in the square's top row. Below: the floor's tiles go on down, in each
    # frame where that frame's tiles are (a pan moves them).
    assert np.abs(tall[:, :margin] - frames[:, :1].astype(int)).max() <= 1
    assert np.abs(tall[:, -margin:] - frames[:, -1:].astype(int)).max() <= 1
    # Left and right: every row's repeat goes on (sky, marks, floor tiles), the object left out.
    expected = background_per_place(rendered)
    places = np.arange(-margin, 0) % REPEAT
    assert np.abs(wide[:, :, :margin] - expected[:, :, places]).max() <= 1
    assert np.abs(wide[:, :, -margin:] - expected[:, :, np.arange(margin) % REPEAT]).max() <= 1
    if pan:  # the floor beside the square moves with the square's
        assert not np.array_equal(wide[0, -1, :margin], wide[-1, -1, :margin])


def test_an_object_at_the_edge_is_not_drawn_out_into_the_margins():
    frames = world_clip("field", motion="left").frames.copy()
    red = np.array(COLOURS["red"], np.uint8)
    frames[:, :6, :20] = red  # over the top edge and the left edge, wider than half a row's repeats
    frames[:, 20:, -6:] = red  # down the right edge into the floor

    tall = frames_extend(frames, top=10, bottom=10)
    wide = frames_extend(frames, left=10, right=10)

    margins = [tall[:, :10], tall[:, -10:], wide[:, :, :10], wide[:, :, -10:]]
    for margin in margins:
        distance = np.linalg.norm(margin.astype(float) - red, axis=-1)
        assert distance.min() > 90  # no red: sky and floor only
    sky = np.array(BACKGROUNDS["field"].sky)
    assert np.abs(tall[:, :10].astype(int) - sky).max() <= 1


@pytest.mark.parametrize(
    ("width", "height"),
    [(256, 456), (456, 256), (256, 256), (128, 228), (384, 682), (64, 114), (32, 58)],
)
def test_frames_come_in_the_asked_size_with_the_square_in_the_middle(width, height):
    frames = world_clip("beach", "left").frames

    fitted = frames_fit(frames, width, height)

    assert fitted.shape == (16, height, width, 3)
    assert fitted.dtype == np.uint8
    side = min(width, height)
    square = np.stack(
        [np.asarray(Image.fromarray(f).resize((side, side), Image.Resampling.BICUBIC)) for f in frames]
    )
    top, left = (height - side) // 2, (width - side) // 2
    # Bicubic reads two pixels either side: away from the joins the square is the square scaled up.
    keep = 2 * side // SIZE
    inner = fitted[:, top + keep : top + side - keep, left + keep : left + side - keep]
    assert np.array_equal(inner, square[:, keep : side - keep, keep : side - keep])
    assert np.array_equal(frames_fit(frames, width, height), fitted)  # deterministic


def test_a_short_side_that_is_not_a_whole_multiple_is_refused():
    with pytest.raises(ValueError, match="whole multiple"):
        frames_fit(world_clip("gray").frames, 100, 180)


@pytest.mark.parametrize(
    "prompt", ["a green star moving left in a grassy field", "a white ghost falling at night"]
)
def test_a_drawn_clip_goes_on_past_its_edges_without_bars(shipped_pipeline, prompt):
    frames = shipped_pipeline(prompt, seed=3).frames
    edge = frames.astype(int)

    tall = frames_extend(frames, top=12, bottom=12).astype(int)
    wide = frames_extend(frames, left=12, right=12).astype(int)

    assert np.array_equal(tall[:, 12:-12], frames)
    assert np.array_equal(wide[:, :, 12:-12], frames)
    # Across each join the picture goes on: the margin next to the square is the colour the model
    # drew at its edge, give or take the model's pixel noise (a black bar is 100 or more away).
    joins = [
        (tall[:, 11], edge[:, 0]),
        (tall[:, -12], edge[:, -1]),
        (wide[:, :, 11], edge[:, :, 0]),
        (wide[:, :, -12], edge[:, :, -1]),
    ]
    for margin, square in joins:
        assert np.median(np.abs(margin - square)) <= 8
