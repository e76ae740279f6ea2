"""The built-in model: its world, detectors, network, training loop, pipeline and engine."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from generation.builtin import evaluate, world
from generation.builtin.audio import bands_to_waveform, waveform_to_bands
from generation.builtin.model import (
    KinoDiT,
    ModelConfig,
    grow_depth,
    rope_angles,
    rope_apply,
    split_slots,
    video_noise,
)
from generation.builtin.pipeline import KinoPipeline
from generation.builtin.sampler import time_shift, timesteps
from generation.builtin.train import (
    RunConfig,
    TrainConfig,
    contact_weights,
    flow_loss,
    learning_rate,
    train,
)
from generation.engines.base import Clip, GenerationCancelled, GenerationRequest
from generation.engines.builtin_engine import BuiltinEngine, BuiltinSettings

CONFIGS = Path(__file__).resolve().parents[2] / "generation" / "builtin" / "configs"
TINY_CONFIG = CONFIGS / "tiny.json"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A tiny model trained for a few steps by the real training loop."""
    out = tmp_path_factory.mktemp("tiny-run")
    train(RunConfig.load(TINY_CONFIG), out, quiet=True)
    return out


# --- the world ---------------------------------------------------------------------------------


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


# --- the detectors, checked against the world's ground truth -------------------------------------


@pytest.fixture(scope="module")
def truth():
    cases = evaluate.held_out_cases(60, seed=7)
    rng = np.random.default_rng(7)
    clips = []
    for case in cases:
        rendered = world.scene_render(case.scene, rng)
        clips.append((rendered.frames, rendered.audio))
    return cases, clips


def test_detectors_agree_with_the_ground_truth(truth):
    cases, clips = truth
    result = evaluate.score(cases, clips, sample_rate=16000, fps=8)
    assert result["color_acc"] >= 0.95
    assert result["motion_acc"] >= 0.95
    assert result["av_sync_acc"] >= 0.95
    matched, judged = map(int, result["av_sync_by_event"]["knock"].split("/"))
    assert matched == judged > 0  # held-out sliders that run into something, each seen and heard


def test_detectors_catch_wrong_clips(truth):
    cases, clips = truth
    reversed_clips = [
        (frames[::-1], audio) for frames, audio in clips
    ]  # left ↔ right, up ↔ down, grow ↔ shrink
    silent = [(frames, np.zeros_like(audio)) for frames, audio in clips]
    recoloured = [(frames[..., ::-1].copy(), audio) for frames, audio in clips]  # RGB → BGR
    backwards = evaluate.score(cases, reversed_clips, sample_rate=16000, fps=8)
    assert backwards["motion_acc"] < 0.5
    left = backwards["motion_by_prompt"]["left"]  # reversed, every left reads as right
    assert left.startswith("0/")
    assert left != "0/0"
    assert sum(int(t.split("/")[1]) for t in backwards["motion_by_prompt"].values()) == len(cases)
    assert backwards["av_sync_by_event"]["knock"].startswith("0/")  # standing, then sliding: no knock
    assert evaluate.score(cases, silent, sample_rate=16000, fps=8)["av_sync_acc"] == 0
    assert evaluate.score(cases, recoloured, sample_rate=16000, fps=8)["color_acc"] < 0.5


def test_sound_survives_the_band_grid_and_the_vocoder():
    rendered = world.scene_render(world.Scene("red", "ball", "bounce", "field"), np.random.default_rng(3))
    grid = waveform_to_bands(
        torch.from_numpy(rendered.audio)[None],
        sample_rate=16000,
        fps=8,
        frames=16,
        bins_per_frame=4,
        bands=16,
    )
    assert grid.shape == (1, 64, 16)
    sound = bands_to_waveform(grid[0], sample_rate=16000, fps=8, bins_per_frame=4)
    again = waveform_to_bands(
        torch.from_numpy(sound)[None], sample_rate=16000, fps=8, frames=16, bins_per_frame=4, bands=16
    )
    assert float((again - grid).abs().mean()) < 0.3
    assert evaluate.audio_onsets(sound, sample_rate=16000, fps=8, frames=16)  # the thuds are still there


# --- the network and its training ---------------------------------------------------------------


def test_patches_round_trip_and_the_network_predicts_both_streams():
    config = ModelConfig(frames=8, size=16, patch=8, dim=32, depth=1, heads=2, rope=True)
    model = KinoDiT(config)
    video = torch.randn(2, 3, 8, 16, 16)
    audio = torch.randn(2, config.audio_steps, config.audio_bands)
    assert torch.equal(model.video_unpatchify(model.video_patchify(video)), video)
    assert torch.equal(model.audio_unpatchify(model.audio_patchify(audio)), audio)
    text = torch.randn(2, config.text_tokens, 384)
    out_v, out_a = model(
        video,
        audio,
        torch.rand(2),
        text,
        torch.ones(2, config.text_tokens, dtype=torch.bool),
        torch.randn(2, 384),
    )
    assert out_v.shape == video.shape
    assert out_a.shape == audio.shape


def test_rotary_positions_make_attention_see_offsets_not_places():
    config = ModelConfig(frames=8, size=32, patch=8, dim=48, heads=2, rope=True)
    grid = config.size // config.patch
    angles = rope_angles(config)[:, None]
    tokens = angles.shape[0]
    assert tokens == config.text_tokens + config.video_tokens + config.slots
    q, k = (torch.randn(24).expand(1, tokens, 1, 24) for _ in range(2))  # the same vectors everywhere
    q, k = (rope_apply(x, angles.cos(), angles.sin())[0, :, 0] for x in (q, k))

    def at(slot: int, row: int, col: int) -> int:
        return config.text_tokens + (slot * grid + row) * grid + col

    def score(a: int, b: int) -> float:
        return float(q[a] @ k[b])

    one_slot_later = score(at(0, 1, 1), at(1, 1, 1))
    assert score(at(2, 3, 0), at(3, 3, 0)) == pytest.approx(one_slot_later, abs=1e-4)
    assert score(at(0, 1, 1), at(1, 2, 2)) != pytest.approx(one_slot_later, abs=1e-2)
    assert torch.equal(angles[: config.text_tokens], torch.zeros_like(angles[: config.text_tokens]))


def test_rotary_time_counts_frames_whatever_the_slot_length():
    long = ModelConfig(frames=8, size=16, patch=8, dim=48, heads=2, rope=True)
    short = replace(long, patch_t=1)
    cells = (long.size // long.patch) ** 2
    long_angles, short_angles = rope_angles(long), rope_angles(short)
    for slot in range(long.slots):  # long slot k starts at frame 2k, as does short slot 2k
        at_long = long.text_tokens + slot * cells
        at_short = short.text_tokens + 2 * slot * cells
        assert torch.equal(long_angles[at_long : at_long + cells], short_angles[at_short : at_short + cells])


def pairs_averaged(x: torch.Tensor, dim: int, per_frame: int) -> torch.Tensor:
    """Each pair of frames along `dim` (of `per_frame` entries each) replaced by their average."""
    pairs = x.unflatten(dim, (-1, 2, per_frame))
    return pairs.mean(dim + 1, keepdim=True).expand_as(pairs).flatten(dim, dim + 2)


def test_cut_slots_do_what_the_long_slots_did_on_a_clip_still_within_each_slot():
    torch.manual_seed(0)
    long = ModelConfig(frames=8, size=16, patch=8, dim=32, depth=2, heads=2)
    short = replace(long, patch_t=1)
    model = KinoDiT(long)
    for parameter in model.parameters():  # no zero-initialised layers: every weight matters
        torch.nn.init.normal_(parameter, std=0.1)
    cut = KinoDiT(short)
    cut.load_state_dict(split_slots(model.state_dict(), long, short))
    # Each 2-frame slot holds one still picture and one sound: then a short token embeds as its
    # long one did and, words left out, attends to the same mix, so it predicts the mean of the
    # long slot's two frames.
    video = torch.randn(2, 3, 4, 16, 16).repeat_interleave(2, dim=2)
    audio = torch.randn(2, 4, 1, long.bins_per_frame, long.audio_bands).expand(-1, -1, 2, -1, -1)
    audio = audio.reshape(2, long.audio_steps, long.audio_bands)
    t, text, pooled = torch.rand(2), torch.randn(2, long.text_tokens, 384), torch.randn(2, 384)
    no_words = torch.zeros(2, long.text_tokens, dtype=torch.bool)
    with torch.no_grad():
        long_v, long_a = model(video, audio, t, text, no_words, pooled)
        short_v, short_a = cut(video, audio, t, text, no_words, pooled)

    assert torch.allclose(short_v, pairs_averaged(long_v, 2, 1), atol=1e-5)
    assert torch.allclose(short_a, pairs_averaged(long_a, 1, long.bins_per_frame), atol=1e-5)
    with pytest.raises(ValueError, match="not the same network"):
        split_slots(model.state_dict(), long, replace(short, dim=64))


def test_a_grown_network_computes_what_the_shallow_one_did():
    torch.manual_seed(0)
    shallow = ModelConfig(frames=8, size=16, patch=8, dim=32, depth=2, heads=2, rope=True)
    deep = replace(shallow, depth=5)
    model = KinoDiT(shallow)
    for parameter in model.parameters():  # no zero-initialised layers: every weight matters
        torch.nn.init.normal_(parameter, std=0.1)
    grown = KinoDiT(deep)
    for parameter in grown.parameters():  # nor in the new network the extra blocks come from
        torch.nn.init.normal_(parameter, std=0.1)
    fresh = {name: value.clone() for name, value in grown.state_dict().items()}
    grown.load_state_dict(grow_depth(model.state_dict(), shallow, deep, fresh))
    video, audio = torch.randn(2, 3, 8, 16, 16), torch.randn(2, shallow.audio_steps, shallow.audio_bands)
    t, text, pooled = torch.rand(2), torch.randn(2, shallow.text_tokens, 384), torch.randn(2, 384)
    words = torch.ones(2, shallow.text_tokens, dtype=torch.bool)
    with torch.no_grad():
        for before, after in zip(
            model(video, audio, t, text, words, pooled),
            grown(video, audio, t, text, words, pooled),
            strict=True,
        ):
            assert torch.allclose(before, after, atol=1e-5)
    # The old blocks sit at 0 and 2 (of 5); the others are new and begin with a zero gate.
    assert torch.equal(grown.blocks[2].qkv.weight, model.blocks[1].qkv.weight)
    assert torch.equal(grown.blocks[3].mlp[0].weight, fresh["blocks.3.mlp.0.weight"])
    assert not grown.blocks[4].ada.weight.any()
    with pytest.raises(ValueError, match="not the same network"):
        grow_depth(model.state_dict(), shallow, replace(deep, dim=64), fresh)
    with pytest.raises(ValueError, match="fewer"):
        grow_depth(grown.state_dict(), deep, shallow, model.state_dict())


def test_video_noise_shares_the_asked_part_across_frames():
    generator = torch.Generator().manual_seed(0)
    noise = video_noise((64, 3, 4, 16, 16), 0.5, generator)
    assert float(noise.var()) == pytest.approx(1.0, abs=0.03)
    frames = noise.permute(2, 0, 1, 3, 4).reshape(4, -1)
    assert float(torch.corrcoef(frames)[0, 3]) == pytest.approx(0.5, abs=0.03)
    # Without correlation it is plain torch.randn, draw for draw.
    plain = video_noise((3, 4, 16, 16), 0.0, torch.Generator().manual_seed(1))
    assert torch.equal(plain, torch.randn((3, 4, 16, 16), generator=torch.Generator().manual_seed(1)))


class Drawn(torch.nn.Module):
    """Stands in for the network: whatever the input, it 'predicts' a given clean clip."""

    def __init__(self, video: torch.Tensor, audio: torch.Tensor) -> None:
        super().__init__()
        self.video, self.audio = video, audio
        self.config = ModelConfig(noise_correlation=0.5)

    def forward(self, *_: object) -> tuple[torch.Tensor, torch.Tensor]:
        return self.video, self.audio


def test_the_motion_loss_asks_for_each_frames_motion_not_only_its_place():
    torch.manual_seed(0)
    truth = torch.rand(4, 3, 8, 8, 8) * 2 - 1  # [B, 3, T, H, W]
    audio = torch.zeros(4, 16, 8)
    weight, text = torch.ones(4, 1, 8, 8, 8), (torch.zeros(4, 1, 4), torch.ones(4, 1, dtype=torch.bool), None)

    def losses(drawn: torch.Tensor) -> tuple[float, float]:
        loss_v, _, loss_m = flow_loss(Drawn(drawn, audio), truth, audio, text, weight)
        return float(loss_v), float(loss_m)

    assert losses(truth) == pytest.approx((0.0, 0.0), abs=1e-9)
    # Off by the same amount in every frame: wrong places, but every change from frame to frame is right.
    offset = torch.rand(4, 3, 1, 8, 8) - 0.5
    place, motion = losses(truth + offset)
    assert place > 0.01
    assert motion == pytest.approx(0.0, abs=1e-9)
    # Each pair of frames drawn at their average: closer in place, a stop every other frame.
    place, motion = losses(pairs_averaged(truth, 2, 1))
    assert place > 0.01
    assert motion > place


def test_contact_weights_cover_the_frames_and_the_sound_around_each_contact():
    contacts = torch.zeros(2, 16, dtype=torch.bool)
    contacts[0, 5] = True
    frames, bins = contact_weights(contacts, 3.0, 4)
    assert frames[0].tolist() == [1.0] * 4 + [4.0] * 3 + [1.0] * 9  # frames 4, 5 and 6
    # Frame 5's own sound is bins 18-21 (within half a frame of its time); a frame either side, 14-26.
    assert torch.nonzero(bins[0] == 4.0).flatten().tolist() == list(range(14, 27))
    assert torch.equal(frames[1], torch.ones(16))  # no contact, no extra weight
    assert torch.equal(bins[1], torch.ones(64))


def test_the_audio_loss_weighs_each_bin_as_asked():
    video = torch.zeros(2, 3, 4, 8, 8)
    truth = torch.zeros(2, 16, 8)  # [B, bins, bands]
    wrong = truth.clone()
    wrong[:, :4] = 1.0  # the sound is off in the first 4 bins only
    weight, text = torch.ones(2, 1, 4, 8, 8), (torch.zeros(2, 1, 4), torch.ones(2, 1, dtype=torch.bool), None)

    def audio_loss(audio_weight: torch.Tensor | None) -> float:
        torch.manual_seed(0)  # the same flow times for every call
        _, loss_a, _ = flow_loss(Drawn(video, wrong), video, truth, text, weight, audio_weight=audio_weight)
        return float(loss_a)

    plain = audio_loss(None)
    assert audio_loss(torch.ones(2, 16)) == pytest.approx(plain)
    there, elsewhere = torch.ones(2, 16), torch.ones(2, 16)
    there[:, :4], elsewhere[:, 4:] = 4.0, 4.0
    assert audio_loss(there) > 1.5 * plain
    assert audio_loss(elsewhere) < 0.5 * plain


@pytest.mark.parametrize("knob", ["motion_weight", "contact_weight"])
def test_training_steps_by_each_loss_weight_as_set(tiny_run, tmp_path, knob):
    config = RunConfig.load(TINY_CONFIG)

    def one_step(value: float, name: str) -> dict[str, torch.Tensor]:
        # Only bounces, so every batch has floor contacts for the contact weight to act on.
        train_config = replace(config.train, steps=1, motion_weights={"bounce": 1000}, **{knob: value})
        train(RunConfig(config.model, train_config), tmp_path / name, init=tiny_run, quiet=True)
        return torch.load(tmp_path / name / "checkpoint.pt", weights_only=False)["model"]

    plain, again, weighted = one_step(0.0, "plain"), one_step(0.0, "again"), one_step(10.0, "weighted")
    name = "video_out.weight"
    assert torch.equal(plain[name], again[name])  # the same data and noise: only the loss differs
    assert not torch.allclose(plain[name], weighted[name])


def test_each_clip_is_trained_on_as_many_draws_as_asked(tiny_run, tmp_path, monkeypatch):
    from generation.builtin import train as training

    seen = []

    def flow_loss(model, video, audio, *args, **kwargs):
        seen.append(video)
        return real(model, video, audio, *args, **kwargs)

    real = training.flow_loss
    monkeypatch.setattr(training, "flow_loss", flow_loss)
    config = RunConfig.load(TINY_CONFIG)
    train(
        RunConfig(config.model, replace(config.train, steps=1, draws=3)), tmp_path, init=tiny_run, quiet=True
    )
    (video,) = seen
    assert video.shape[0] == 3 * config.train.batch
    assert torch.equal(video[0::3], video[1::3])
    assert torch.equal(video[0::3], video[2::3])
    assert not torch.equal(video[0], video[3])  # different clips between, the same one thrice in a row
    with pytest.raises(ValueError, match="draws must be 1 or more"):
        TrainConfig(draws=0)


def test_training_writes_weights_a_loss_curve_and_resumes(tiny_run):
    state = torch.load(tiny_run / "checkpoint.pt", weights_only=False)
    assert state["step"] == 6
    assert len(state["losses"]) == 6
    assert all(np.isfinite(loss) for _, loss in state["losses"])
    assert (tiny_run / "loss.png").stat().st_size > 1000
    info = json.loads((tiny_run / "config.json").read_text())
    assert info["step"] == 6
    assert info["model"]["size"] == 16
    before = (tiny_run / "model.safetensors").read_bytes()

    config = RunConfig.load(TINY_CONFIG)
    summary = train(RunConfig(config.model, replace(config.train, steps=9)), tiny_run, quiet=True)
    assert summary["step"] == 9  # went on from step 6, did not start over
    assert torch.load(tiny_run / "checkpoint.pt", weights_only=False)["step"] == 9
    assert (tiny_run / "model.safetensors").read_bytes() != before


def test_a_new_run_can_start_from_shipped_weights(tiny_run, tmp_path):
    from safetensors.torch import load_file

    config = RunConfig.load(TINY_CONFIG)
    run = RunConfig(config.model, replace(config.train, steps=1, time_shift=3.0))
    train(run, tmp_path, init=tiny_run, quiet=True)
    # The sampler is told the noise shift the network was trained with.
    assert KinoPipeline.from_pretrained(tmp_path).sampling["shift"] == 3.0
    # The new run's weights say what they started from, so the whole training cost can be told.
    start = json.loads((tiny_run / "config.json").read_text())
    info = json.loads((tmp_path / "config.json").read_text())
    earlier = [*start["trained_from"], {"step": start["step"], "train_minutes": start["train_minutes"]}]
    assert info["trained_from"] == earlier
    assert info["step"] == 1
    before, after = (
        load_file(str(tiny_run / "model.safetensors")),
        load_file(str(tmp_path / "model.safetensors")),
    )
    fresh = KinoDiT(config.model).state_dict()
    name = "video_in.weight"
    # One step (EMA decay 0.1 at step 0) moves the weights a little from where they started, not from scratch.
    assert (after[name] - before[name]).abs().max() < (fresh[name] - before[name]).abs().max() / 10


@pytest.mark.parametrize(
    ("field", "value", "moved"),
    [
        ("patch_t", 1, {"video_in.weight": "video_in.weight"}),
        ("depth", 4, {"blocks.2.qkv.weight": "blocks.1.qkv.weight"}),
    ],
)
def test_a_run_of_another_shape_starts_from_the_weights_it_was_given(tiny_run, tmp_path, field, value, moved):
    """Shorter slots start from the cut weights; more blocks, from the old ones spread out."""
    from safetensors.torch import load_file

    config = RunConfig.load(TINY_CONFIG)
    shape = replace(config.model, **{field: value})
    train(RunConfig(shape, replace(config.train, steps=1)), tmp_path, init=tiny_run, quiet=True)
    before, after = (
        load_file(str(tiny_run / "model.safetensors")),
        load_file(str(tmp_path / "model.safetensors")),
    )
    if field == "patch_t":
        before = split_slots(before, config.model, shape)
    assert json.loads((tmp_path / "config.json").read_text())["model"][field] == value
    fresh = KinoDiT(shape).state_dict()
    for new_name, old_name in moved.items():
        assert (after[new_name] - before[old_name]).abs().max() < (
            fresh[new_name] - before[old_name]
        ).abs().max() / 10


def test_time_shift_moves_times_toward_noise_and_keeps_the_ends():
    t = torch.tensor([0.0, 0.5, 1.0])
    assert time_shift(t, 1.0).tolist() == t.tolist()
    assert time_shift(t, 3.0).tolist() == [0.0, 0.75, 1.0]
    assert timesteps(4, 3.0)[1] > timesteps(4, 1.0)[1]


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    config = TrainConfig(lr=1e-3, warmup=100, steps=1000)
    assert learning_rate(config, 0) == pytest.approx(1e-5)
    assert learning_rate(config, 99) == pytest.approx(1e-3, rel=0.03)
    assert learning_rate(config, 500) == pytest.approx(0.55e-3)
    assert learning_rate(config, 1000) == pytest.approx(1e-4)
    assert learning_rate(config, 5000) == pytest.approx(1e-4)


def test_committed_weights_are_small_and_load():
    from generation.builtin.pipeline import WEIGHTS_DIR

    assert (WEIGHTS_DIR / "model.safetensors").stat().st_size <= 50 * 2**20
    pipeline = KinoPipeline.from_pretrained(WEIGHTS_DIR)
    assert pipeline.config.frames == 16
    assert pipeline.config.size == 32


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.json")), ids=lambda p: p.name)
def test_every_recorded_recipe_loads(path):
    """A misspelt key or motion in a committed config fails here, not hours into a run."""
    RunConfig.load(path)


def test_the_shipped_model_is_the_one_its_config_builds():
    from generation.builtin.pipeline import WEIGHTS_DIR, weights_load

    shipped, _, _ = weights_load(WEIGHTS_DIR)
    assert shipped == RunConfig.load(CONFIGS / "finetune22.json").model


# --- pipeline and engine ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(tiny_run):
    return BuiltinEngine(BuiltinSettings(path=tiny_run, steps=3, device="cpu"))


def test_same_seed_same_clip_other_seed_other_clip(engine):
    pipeline = engine.pipeline
    one, again = pipeline("a red ball bouncing", seed=4), pipeline("a red ball bouncing", seed=4)
    other = pipeline("a red ball bouncing", seed=5)
    assert np.array_equal(one.frames, again.frames)
    assert np.array_equal(one.audio, again.audio)
    assert not np.array_equal(one.frames, other.frames)


def test_engine_makes_an_upscaled_square_clip_with_sound(engine):
    steps = []
    request = GenerationRequest(
        prompt="a blue box moving left", width=64, height=113, num_frames=33, fps=8.0, seed=1
    )
    assert engine.fit(64, 113, 33) == (64, 64, 33)
    clip = engine.generate(
        replace(request, width=64, height=64, num_frames=8), lambda done, total: steps.append(done)
    )
    assert isinstance(clip, Clip)
    assert clip.frames.shape == (8, 64, 64, 3)
    assert clip.audio is not None
    assert clip.audio.shape == (1, 16000)
    assert clip.sample_rate == 16000
    assert steps == [1, 2, 3]
    assert engine.makes_audio
    assert not engine.supports_start_image
    assert engine.name.startswith("builtin/")
    assert len(engine.version) == 12


def test_a_prefix_fixes_the_first_frames_and_steers_the_rest(engine):
    from generation.builtin.sampler import sample

    model, c = engine.pipeline.model, engine.pipeline.config
    text = engine.pipeline.text_encoder(["a red ball bouncing"])
    generator = torch.Generator().manual_seed(0)
    noise = (
        torch.randn((1, 3, c.frames, c.size, c.size), generator=generator),
        torch.randn((1, c.audio_steps, c.audio_bands), generator=generator),
    )
    known = (
        torch.full((1, 3, 4, c.size, c.size), 0.5),
        torch.full((1, 4 * c.bins_per_frame, c.audio_bands), -1.0),
    )
    free_v, free_a = sample(model, text, steps=3, guidance=2.0, noise=noise)
    video, audio = sample(model, text, steps=3, guidance=2.0, noise=noise, prefix=known)
    assert torch.equal(video[:, :, :4], known[0])
    assert torch.equal(audio[:, : 4 * c.bins_per_frame], known[1])
    assert not torch.allclose(video[:, :, 4:], free_v[:, :, 4:])  # the rest goes on from the prefix
    assert not torch.allclose(audio[:, 4 * c.bins_per_frame :], free_a[:, 4 * c.bins_per_frame :])


def test_longer_clips_are_drawn_window_after_window(engine):
    pipeline, c = engine.pipeline, engine.pipeline.config
    steps: list[tuple[int, int]] = []
    native = pipeline("a blue box moving left", seed=3, steps=3)
    long = pipeline("a blue box moving left", seed=3, steps=3, frames=14, on_step=lambda *a: steps.append(a))
    # 8 native frames, then windows that keep 4 and add 4: three windows for 14 frames.
    assert steps == [(i, 9) for i in range(1, 10)]
    assert long.frames.shape == (14, c.size, c.size, 3)
    assert long.audio.shape == (14 * 2000,)  # 14 frames at 8 fps, 16 kHz
    assert np.array_equal(long.frames[: c.frames], native.frames)  # going on never changes the start
    assert np.array_equal(long.frames, pipeline("a blue box moving left", seed=3, steps=3, frames=14).frames)


def test_cancel_from_the_callback_stops_the_render(engine):
    calls = []

    def on_step(done, total):
        calls.append(done)
        raise GenerationCancelled

    request = GenerationRequest(prompt="a ball", width=16, height=16, num_frames=8, fps=8.0, seed=1)
    with pytest.raises(GenerationCancelled):
        engine.generate(request, on_step)
    assert calls == [1]


@pytest.mark.django_db
def test_prompt_to_draft_with_the_shipped_model(auth_client, run_on_commit, settings, fresh_engine):
    import io

    import av

    from feed.models import Video
    from tests.factories import UserFactory

    settings.GENERATION_ENGINE = "builtin"
    settings.GENERATION_MODEL_PATH = ""
    settings.GENERATION_STEPS = 8
    settings.GENERATION_SHORT_SIDE = {"draft": 128, "standard": 256, "high": 384}
    client = auth_client(UserFactory())

    created = run_on_commit(
        client.post,
        "/api/v1/generations",
        {"prompt": "a red ball bouncing on a blue floor", "duration_s": 4},
        format="json",
    )

    job = client.get(f"/api/v1/generations/{created.json()['id']}").json()
    assert job["state"] == "succeeded", job
    assert job["engine"]["name"] == "builtin/weights"
    video = Video.objects.get(id=job["video_id"])
    with video.video.open("rb") as handle:
        container = av.open(io.BytesIO(handle.read()))
    streams = {stream.type: stream for stream in container.streams}
    assert streams["video"].codec_context.name == "h264"
    assert streams["audio"].codec_context.name == "aac"
    assert (streams["video"].codec_context.width, streams["video"].codec_context.height) == (256, 256)
    assert video.has_audio
    assert float(container.duration / av.time_base) == pytest.approx(33 / 8, abs=0.2)  # 4 s, not 2
