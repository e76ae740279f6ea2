"""Diffusers engines' long clips and extensions: windows chained on the last frames before them
(LTX-2 through its condition pipeline, Wan VACE through a masked video), plain Wan refusing them.

The tiny random pipelines make noise, so these tests check what can be checked on noise: how many
frames, what each window's pipeline was called with (a spy on the pipeline classes' __call__), that
the known frames are the clip's own (kept, not the window's re-rendering of them), that the sound
is as long as the frames and placed with them, and that progress and cancel span all the windows.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field, replace
from typing import Any

import diffusers
import numpy as np
import pytest
import torch

from generation.engines.base import DurationUnsupported, GenerationCancelled, GenerationRequest
from generation.engines.diffusers_engine import (
    DiffusersEngine,
    DiffusersSettings,
    audio_resize,
    frames_resize,
    windows_plan,
)
from generation.engines.families import engine_can_extend, engine_max_duration_s
from generation.engines.tiny import tiny_pipeline_save

NATIVE = 17  # the tiny engines' window: LTX-2 goes on from 9 frames and adds 8; Wan VACE from 13, adds 4
STEPS = 2


def _tiny_engine(kind: str, folder, native: int = NATIVE) -> DiffusersEngine:
    path = tiny_pipeline_save(kind, folder)
    return DiffusersEngine(
        DiffusersSettings(path=path, steps=STEPS, max_sequence_length=16, device="cpu", native_frames=native)
    )


@pytest.fixture(scope="module")
def ltx2(tmp_path_factory):
    return _tiny_engine("ltx2", tmp_path_factory.mktemp("ltx2"))


@pytest.fixture(scope="module")
def wan_vace(tmp_path_factory):
    return _tiny_engine("wan-vace", tmp_path_factory.mktemp("wan-vace"), native=9)


@pytest.fixture(scope="module")
def wan(tmp_path_factory):
    return _tiny_engine("wan", tmp_path_factory.mktemp("wan"))


@dataclass
class Call:
    pipeline: str
    kwargs: dict[str, Any]
    frames: np.ndarray | None = None  # what it made, uint8 as the engine reads it
    audio: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def calls(monkeypatch) -> list[Call]:
    """Every pipeline call, in order: its class, its arguments and (when it finished) its output."""
    seen: list[Call] = []

    def spy(cls):
        original = cls.__call__

        def call(self, **kwargs):
            seen.append(Call(type(self).__name__, kwargs))
            output = original(self, **kwargs)
            seen[-1].frames = (np.clip(np.asarray(output.frames[0]), 0, 1) * 255).round().astype(np.uint8)
            if getattr(output, "audio", None) is not None:
                seen[-1].audio = output.audio[0].float().numpy()
            return output

        monkeypatch.setattr(cls, "__call__", call)

    names = (
        "LTX2Pipeline",
        "LTX2ImageToVideoPipeline",
        "LTX2ConditionPipeline",
        "WanPipeline",
        "WanVACEPipeline",
    )
    for name in names:
        spy(getattr(diffusers, name))
    return seen


def request(**overrides: Any) -> GenerationRequest:
    values: dict[str, Any] = {
        "prompt": "a red ball bouncing",
        "width": 32,
        "height": 32,
        "num_frames": 33,
        "fps": 8.0,
        "seed": 3,
    }
    values.update(overrides)
    return GenerationRequest(**values)


def samples(frames: int, engine: DiffusersEngine, fps: float = 8.0) -> int:
    """Where frame `frames` starts in the sound."""
    return round(frames * (engine.sample_rate or 0) / fps)


@pytest.mark.parametrize(
    ("total", "prefix", "native", "overlap", "temporal", "expected"),
    [
        pytest.param(121, 0, 121, 25, 8, [(0, 121, 0)], id="ltx2-one-window"),
        pytest.param(217, 0, 121, 25, 8, [(0, 121, 0), (96, 121, 25)], id="ltx2-two-windows"),
        pytest.param(129, 0, 121, 25, 8, [(0, 121, 0), (96, 33, 25)], id="ltx2-short-last-window"),
        pytest.param(81, 17, 81, 17, 4, [(0, 81, 17)], id="wan-vace-extension-in-one-window"),
        pytest.param(40, 6, 17, 25, 8, [(5, 17, 1), (13, 17, 9), (21, 17, 9), (29, 17, 9)], id="few-given"),
        pytest.param(33, 0, 17, 9, 8, [(0, 17, 0), (8, 17, 9), (16, 17, 9)], id="tiny-ltx2"),
    ],
)
def test_windows_cover_the_clip_each_going_on_from_the_frames_before(
    total, prefix, native, overlap, temporal, expected
):
    windows = windows_plan(total, prefix, native, overlap, temporal)
    assert [(w.start, w.frames, w.known) for w in windows] == expected
    assert windows[-1].start + windows[-1].frames >= total
    for before, window in itertools.pairwise(windows):
        assert window.start + window.known == before.start + before.frames  # goes on where it ended


def test_sixty_seconds_of_ltx2_take_fifteen_windows():
    windows = windows_plan(60 * 24 + 1, 0, 121, 25, 8)
    assert len(windows) == 15
    assert all(w.frames <= 121 and (w.frames - 1) % 8 == 0 and w.known in (0, 25) for w in windows)


def test_ltx2_chains_windows_on_the_previous_ones_last_frames_with_its_sound_in_step(ltx2, calls):
    start = np.full((32, 32, 3), 90, dtype=np.uint8)
    progress = []
    clip = ltx2.generate(
        request(num_frames=33, start_image=start), lambda done, total: progress.append((done, total))
    )

    # the first window starts from the image, the others go on from the frames before them
    assert [call.pipeline for call in calls] == [
        "LTX2ImageToVideoPipeline",
        "LTX2ConditionPipeline",
        "LTX2ConditionPipeline",
    ]
    assert np.array_equal(np.asarray(calls[0].kwargs["image"]), start)
    assert all(call.kwargs["num_frames"] == NATIVE for call in calls)
    assert all("image" not in call.kwargs for call in calls[1:])
    for index, call in enumerate(calls[1:], start=1):
        (condition,) = call.kwargs["conditions"]
        assert condition.index == 0
        assert condition.strength == 1.0
        # the window goes on from the clip's frames 8k..8k+8, as the clip has them
        assert np.array_equal(condition.frames, clip.frames[8 * index : 8 * index + 9])
    # the overlap appears once: the first window's frames, then each later one's new frames
    expected = np.concatenate([calls[0].frames, calls[1].frames[9:], calls[2].frames[9:]])
    assert clip.frames.shape == (33, 32, 32, 3)
    assert np.array_equal(clip.frames, expected)
    # the condition pipeline is the loaded one's weights, not a second copy
    sibling = ltx2._sibling("LTX2ConditionPipeline")
    assert sibling.transformer is ltx2.pipe.transformer
    assert sibling.vae is ltx2.pipe.vae

    assert clip.sample_rate == ltx2.sample_rate
    assert clip.audio.shape == (2, samples(33, ltx2))
    # each window's sound sits under its frames: under frames 18-22, window 2's own (its frames 10-14)
    offset = samples(8, ltx2)  # window 2's first frame
    begin, end = samples(18, ltx2), samples(23, ltx2)
    assert np.array_equal(clip.audio[:, begin:end], calls[1].audio[:, begin - offset : end - offset])

    assert ltx2.steps_for(33) == 3 * STEPS
    assert progress == [(done, 3 * STEPS) for done in range(1, 3 * STEPS + 1)]


def test_the_condition_pipeline_keeps_the_loaded_weights_dtype(ltx2):
    engine = DiffusersEngine(replace(ltx2.settings, dtype="bfloat16"))
    sibling = engine._sibling("LTX2ConditionPipeline")
    assert sibling.transformer is engine.pipe.transformer
    assert engine.pipe.transformer.dtype == engine.pipe.vae.dtype == torch.bfloat16


def test_ltx2_extends_from_given_frames_and_sound(ltx2, calls):
    rng = np.random.default_rng(0)
    given = rng.integers(0, 256, (9, 48, 40, 3), dtype=np.uint8)  # the source's size, not the clip's
    sound = (
        np.sin(np.linspace(0, 200, 9 * 1000, dtype=np.float32))[None] * 0.5
    )  # 9 frames at 8 fps, mono 8 kHz
    progress = []
    clip = ltx2.generate(
        request(num_frames=25, prefix_frames=given, prefix_audio=sound, prefix_sample_rate=8000),
        lambda done, total: progress.append(total),
    )

    fitted = frames_resize(given, 32, 32)
    assert clip.frames.shape == (25, 32, 32, 3)
    assert np.array_equal(clip.frames[:9], fitted)  # the clip starts with the given frames, as given
    assert [call.pipeline for call in calls] == ["LTX2ConditionPipeline", "LTX2ConditionPipeline"]
    assert np.array_equal(calls[0].kwargs["conditions"][0].frames, fitted)
    assert np.array_equal(clip.frames[9:17], calls[0].frames[9:])
    # the given sound, at the engine's rate and channels, up to the crossfade into the new
    fade = round(0.02 * ltx2.sample_rate)
    known = audio_resize(sound, 8000, 2, ltx2.sample_rate, samples(9, ltx2))
    assert np.allclose(clip.audio[:, : samples(9, ltx2) - fade], known[:, :-fade])
    assert clip.audio.shape == (2, samples(25, ltx2))
    assert set(progress) == {ltx2.steps_for(25, prefix_frames=9)} == {2 * STEPS}


def test_given_frames_go_with_nothing_else_and_leave_something_to_make(ltx2, calls):
    given = np.zeros((9, 32, 32, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="not both"):
        ltx2.generate(request(prefix_frames=given, start_image=given[0]), lambda *a: None)
    with pytest.raises(ValueError, match="nothing to make"):
        ltx2.generate(request(num_frames=9, prefix_frames=given), lambda *a: None)
    assert calls == []


def test_cancel_in_the_second_window_makes_no_third(ltx2, calls):
    seen = []

    def on_step(done, total):
        seen.append(done)
        if done == STEPS + 1:  # the second window's first step
            raise GenerationCancelled

    with pytest.raises(GenerationCancelled):
        ltx2.generate(request(num_frames=33), on_step)
    assert seen == list(range(1, STEPS + 2))
    assert [call.pipeline for call in calls] == ["LTX2Pipeline", "LTX2ConditionPipeline"]
    assert calls[1].frames is None  # stopped inside its first step


def test_wan_vace_chains_windows_through_a_masked_video_with_its_references(wan_vace, calls):
    red = np.zeros((32, 32, 3), dtype=np.uint8)
    red[..., 0] = 255
    clip = wan_vace.generate(request(num_frames=17, reference_images=(red,)), lambda *a: None)

    # native 9 goes on from 5 frames and adds 4: 9, then 4 and 4
    assert [call.pipeline for call in calls] == ["WanVACEPipeline"] * 3
    assert all(len(call.kwargs["reference_images"]) == 1 for call in calls)  # the cast in every window
    assert "video" not in calls[0].kwargs
    for index, call in enumerate(calls[1:], start=1):
        video, mask = call.kwargs["video"], call.kwargs["mask"]
        assert len(video) == len(mask) == call.kwargs["num_frames"] == 9
        known = np.stack([np.asarray(frame) for frame in video[:5]])
        assert np.array_equal(known, clip.frames[4 * index : 4 * index + 5])
        assert [np.asarray(m).max() for m in mask] == [0] * 5 + [255] * 4  # known 0, to make 1
        assert {np.asarray(frame).tobytes() for frame in video[5:]} == {bytes([128]) * 32 * 32 * 3}
    assert np.array_equal(
        clip.frames, np.concatenate([calls[0].frames, calls[1].frames[5:], calls[2].frames[5:]])
    )
    assert clip.audio is None
    assert wan_vace.max_frames is None
    assert wan_vace.supports_prefix


def test_wan_vace_extends_from_given_frames(wan_vace, calls):
    given = np.full((5, 32, 32, 3), 200, dtype=np.uint8)
    clip = wan_vace.generate(request(num_frames=13, prefix_frames=given), lambda *a: None)
    assert clip.frames.shape == (13, 32, 32, 3)
    assert np.array_equal(clip.frames[:5], given)
    assert len(calls) == 2
    assert np.array_equal(np.stack([np.asarray(frame) for frame in calls[0].kwargs["video"][:5]]), given)


def test_plain_wan_refuses_what_is_longer_than_one_window_and_extensions(wan, calls):
    assert wan.max_frames == NATIVE
    assert not wan.supports_prefix
    assert wan.generate(request(num_frames=NATIVE), lambda *a: None).frames.shape[0] == NATIVE
    with pytest.raises(DurationUnsupported, match="at most 17 frames"):
        wan.generate(request(num_frames=NATIVE + 4), lambda *a: None)
    with pytest.raises(DurationUnsupported):
        wan.generate(
            request(num_frames=13, prefix_frames=np.zeros((5, 32, 32, 3), np.uint8)), lambda *a: None
        )
    with pytest.raises(DurationUnsupported):
        wan.steps_for(NATIVE + 4)
    assert len(calls) == 1  # refused before any rendering


@pytest.mark.parametrize(
    ("engine", "native", "max_duration_s", "can_extend"),
    [
        pytest.param("builtin", 0, None, True, id="builtin-chains-and-extends"),
        pytest.param("tiny-ltx2", 0, None, True, id="ltx2-chains-and-extends"),
        pytest.param("tiny-wan-vace", 0, None, True, id="wan-vace-chains-and-extends"),
        pytest.param("tiny-wan", 0, 81 / 16, False, id="wan-one-window"),
        pytest.param("tiny-wan", 49, 49 / 16, False, id="wan-operator-window"),
        pytest.param("tiny-wan", 50, 49 / 16, False, id="wan-operator-window-rounded-down"),
    ],
)
def test_the_request_side_knows_what_the_engine_can_do(settings, engine, native, max_duration_s, can_extend):
    settings.GENERATION_ENGINE = engine
    settings.GENERATION_NATIVE_FRAMES = native
    assert engine_max_duration_s(16.0) == max_duration_s
    assert engine_can_extend() is can_extend


def test_the_request_side_reads_a_diffusers_folders_pipeline(settings, tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline"}))
    settings.GENERATION_ENGINE, settings.GENERATION_MODEL_PATH = "diffusers", str(tmp_path)
    assert engine_max_duration_s(24.0) == 81 / 24
    assert not engine_can_extend()
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "LTX2Pipeline"}))
    assert engine_max_duration_s(24.0) is None
    assert engine_can_extend()
