"""The procedural world: what it draws, what it renders, what it says and sounds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from generation.builtin import evaluate, world
from generation.builtin.train import TrainConfig


def test_training_never_sees_a_held_out_pair_and_evaluation_sees_only_those():
    rng = np.random.default_rng(0)
    training = [world.scene_sample(rng) for _ in range(3000)]
    assert not {(s.colour, s.motion) for s in training} & world.HELD_OUT
    assert {s.motion for s in training} == set(world.MOTIONS)
    held_out = [world.scene_sample(rng, held_out=True, pans=False) for _ in range(300)]
    assert {(s.colour, s.motion) for s in held_out} == world.HELD_OUT
    assert not any(s.pan for s in held_out)
    assert not any(world.colour_clashes(s.colour, s.background) for s in training + held_out)


def test_motion_weights_change_how_often_a_motion_is_drawn_and_misspellings_are_refused():
    rng = np.random.default_rng(0)
    drawn = [world.scene_sample(rng, motion_weights={"bounce": 3}).motion for _ in range(3000)]
    assert 0.22 < drawn.count("bounce") / len(drawn) < 0.33  # 3 of 11 parts, not 1 of 9
    assert set(drawn) == set(world.MOTIONS)
    never = [world.scene_sample(rng, motion_weights={"spin": 0}).motion for _ in range(500)]
    assert "spin" not in never
    with pytest.raises(ValueError, match="bonce"):
        TrainConfig(motion_weights={"bonce": 3})
    with pytest.raises(ValueError, match=">= 0"):
        TrainConfig(motion_weights={"bounce": -1})


def test_knocks_sets_the_share_of_slides_that_run_into_a_second_object():
    def knocking(knocks: float) -> float:
        rng = np.random.default_rng(2)
        slides = [
            s
            for s in (world.scene_sample(rng, knocks=knocks) for _ in range(4000))
            if s.motion in world.SLIDES
        ]
        return sum(s.hits for s in slides) / len(slides)

    assert 0.13 < knocking(world.KNOCKS) < 0.23
    assert 0.64 < knocking(0.7) < 0.76
    assert knocking(0.0) == 0
    assert knocking(1.0) == 1
    with pytest.raises(ValueError, match="share of slides"):
        world.scene_sample(np.random.default_rng(0), knocks=1.5)


def test_captions_vary_in_wording_and_order_but_name_the_scene():
    rng = np.random.default_rng(1)
    scene = world.Scene("red", "ball", "bounce", "room", speed="quickly", second=("yellow", "box"))
    captions = {world.caption(scene, rng) for _ in range(200)}
    assert len(captions) > 20
    for text in captions:
        assert "red" in text
        assert "ball" in text
        assert "quickly" in text
        assert "yellow box" in text
    assert len({text.split()[0] for text in captions}) >= 3  # not one fixed order


def test_a_hit_is_named_in_the_caption():
    rng = np.random.default_rng(4)
    scene = world.Scene("red", "ball", "left", "room", second=("yellow", "cat"), hits=True)
    captions = {world.caption(scene, rng) for _ in range(50)}
    assert all("yellow cat" in text and ("hits" in text or "knocking" in text) for text in captions)
    drawn = [world.scene_sample(rng) for _ in range(3000)]
    hits = [s for s in drawn if s.hits]
    assert hits
    assert all(s.second and s.motion in ("left", "right") for s in hits)
    with pytest.raises(ValueError, match="slider"):
        world.Scene("red", "ball", "bounce", "room", second=("yellow", "cat"), hits=True)
    with pytest.raises(ValueError, match="slider"):
        world.Scene("red", "ball", "left", "room", hits=True)


@pytest.mark.parametrize("sprite", list(world.SPRITES))
def test_a_sprite_is_drawn_from_its_bitmap_and_nowhere_else(sprite):
    bitmap = np.array([[c == "#" for c in row] for row in world.SPRITES[sprite]])
    cells = len(bitmap)
    assert bitmap.shape == (cells, cells)  # square: it spans [-r, r] both ways, like a shape
    canvas = np.zeros((1, cells * 8, cells * 8, 3), np.float32)
    big = world._paint(canvas, sprite, np.ones(3, np.float32), *np.array([[0.5], [0.5], [0.5], [0.0]]))
    blocks = big[0].reshape(cells, 8, cells, 8).mean(axis=(1, 3))
    assert np.array_equal(blocks > 0.5, bitmap)
    canvas = np.zeros((1, 32, 32, 3), np.float32)
    small = world._paint(canvas, sprite, np.ones(3, np.float32), *np.array([[0.5], [0.5], [0.05], [0.0]]))
    assert small.sum() == pytest.approx(bitmap.mean() * (0.1 * 32) ** 2, rel=0.35)
    assert small[0, :, :12].max() == 0  # nothing drawn beyond the sprite's square
    assert small[0, :12].max() == 0


def test_a_slider_hits_the_second_object_stops_and_knocks_it_on_with_a_thud():
    for seed in range(6):
        scene = world.Scene(
            "red",
            "ball",
            ("left", "right")[seed % 2],
            "room",
            speed=world.SPEEDS[seed % 3],
            second=("yellow", "box"),
            hits=True,
        )
        rendered = world.scene_render(scene, np.random.default_rng(seed))
        assert len(rendered.contacts) == 1
        hit = rendered.contacts[0]
        assert 3 <= hit <= 13  # after a clear slide, and with time left to see the knock
        track = evaluate.colour_track(rendered.frames, "red")
        main = track.centres[:, 0]
        other = evaluate.colour_track(rendered.frames, "yellow").centres[:, 0]
        sign = 1 if scene.motion == "right" else -1
        assert sign * (main[hit] - main[0]) >= 3  # pixels slid
        assert np.ptp(main[hit + 1 :]) <= 0.5  # then it stands
        assert np.ptp(other[: hit - 1]) <= 0.5  # the other stands until it is hit
        assert sign * (other[-1] - other[hit - 1]) >= 0.5  # then moves on the same way
        assert abs(other[hit] - main[hit]) <= world.TOUCH * 32 * (0.15 + 0.085) + 1  # touching when hit
        onsets = evaluate.audio_onsets(rendered.audio, sample_rate=16000, fps=8, frames=16)
        assert any(abs(hit - o) <= 1 for o in onsets)
        assert evaluate.visual_knocks(track) in ([hit - 1], [hit], [hit + 1])


def test_without_a_hit_the_objects_never_touch_and_nothing_is_heard():
    for seed in range(12):
        motion = ("left", "right", "grow", "bounce")[seed % 4]
        scene = world.Scene("red", "box", motion, "room", speed="quickly", second=("yellow", "ghost"))
        rendered = world.scene_render(scene, np.random.default_rng(seed))
        area = evaluate.colour_track(rendered.frames, "yellow").area
        assert area.min() == area.max() > 0  # never covered, never moved
        track = evaluate.colour_track(rendered.frames, "red")
        assert evaluate.visual_knocks(track) == []
        if motion != "bounce":
            assert rendered.contacts == []
            assert evaluate.audio_onsets(rendered.audio, sample_rate=16000, fps=8, frames=16) == []


def test_a_bounce_is_seen_and_heard_at_each_floor_contact():
    rng = np.random.default_rng(2)
    rendered = world.scene_render(world.Scene("red", "ball", "bounce", "room"), rng)
    assert rendered.frames.shape == (16, 32, 32, 3)
    assert rendered.frames.dtype == np.uint8
    assert rendered.audio.shape == (32000,)
    assert rendered.audio.dtype == np.float32
    assert len(rendered.contacts) >= 2
    # slow enough for 8 fps to see: floor to floor takes at least 6 frames
    assert all(later - earlier >= 6 for earlier, later in itertools.pairwise(rendered.contacts))
    assert rendered.mask is not None
    assert rendered.mask.max() == pytest.approx(1.0)
    inner = [c for c in rendered.contacts if 0 < c < 15]
    onsets = evaluate.audio_onsets(rendered.audio, sample_rate=16000, fps=8, frames=16)
    assert all(any(abs(c - o) <= 1 for o in onsets) for c in inner)
    still = world.scene_render(world.Scene("red", "box", "spin", "room"), rng)
    assert still.contacts == []
    assert evaluate.audio_onsets(still.audio, sample_rate=16000, fps=8, frames=16) == []


@pytest.mark.parametrize("background", list(world.BACKGROUNDS))
def test_no_thud_is_heard_where_nothing_lands(background):
    heard = [
        evaluate.audio_onsets(
            world.scene_render(
                world.Scene("red", "box", "spin", background), np.random.default_rng(seed)
            ).audio,
            sample_rate=16000,
            fps=8,
            frames=16,
        )
        for seed in range(10)
    ]
    assert sum(bool(onsets) for onsets in heard) <= 1  # the night's crickets click, but softly


def test_the_same_draw_renders_the_same_clip():
    scene = world.Scene("pink", "star", "spin", "night", pan="left")
    one = world.scene_render(scene, np.random.default_rng(5))
    two = world.scene_render(scene, np.random.default_rng(5))
    assert np.array_equal(one.frames, two.frames)
    assert np.array_equal(one.audio, two.audio)
