"""Diffusers engines: tiny random pipelines of the real classes, loaded through the production loader."""

from __future__ import annotations

import numpy as np
import pytest

from generation.engines.base import GenerationCancelled, GenerationRequest
from generation.engines.diffusers_engine import DiffusersEngine, DiffusersSettings
from generation.engines.tiny import tiny_pipeline_save
from mediakit import Clip


def _tiny_engine(kind: str, folder, steps: int) -> DiffusersEngine:
    """A tiny random pipeline of `kind`, saved and loaded back through the production loader."""
    path = tiny_pipeline_save(kind, folder)
    return DiffusersEngine(DiffusersSettings(path=path, steps=steps, max_sequence_length=16, device="cpu"))


@pytest.fixture(scope="module")
def ltx2(tmp_path_factory):
    return _tiny_engine("ltx2", tmp_path_factory.mktemp("ltx2"), steps=3)


@pytest.fixture(scope="module")
def wan(tmp_path_factory):
    return _tiny_engine("wan", tmp_path_factory.mktemp("wan"), steps=2)


@pytest.fixture(scope="module")
def wan_vace(tmp_path_factory):
    return _tiny_engine("wan-vace", tmp_path_factory.mktemp("wan-vace"), steps=2)


def request(**overrides) -> GenerationRequest:
    values = {
        "prompt": "a red ball bouncing",
        "width": 32,
        "height": 64,
        "num_frames": 17,
        "fps": 8.0,
        "seed": 3,
    }
    values.update(overrides)
    return GenerationRequest(**values)


def test_ltx2_makes_video_with_synchronized_audio_and_reports_each_step(ltx2):
    steps = []
    clip = ltx2.generate(request(), lambda done, total: steps.append((done, total)))
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert clip.frames.shape == (17, 64, 32, 3)
    assert clip.frames.dtype == np.uint8
    assert clip.audio is not None
    assert clip.audio.shape[0] == 2
    assert clip.sample_rate == 16000
    assert ltx2.makes_audio
    assert "noise" in ltx2.name
    assert len(ltx2.version) == 12


def test_wan_makes_video_only(wan):
    clip = wan.generate(request(), lambda done, total: None)
    assert clip.frames.shape == (17, 64, 32, 3)
    assert clip.audio is None
    assert not wan.makes_audio


def test_same_seed_same_clip_other_seed_other_clip(wan):
    first = wan.generate(request(seed=7), lambda *a: None).frames
    again = wan.generate(request(seed=7), lambda *a: None).frames
    other = wan.generate(request(seed=8), lambda *a: None).frames
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize(
    ("family", "asked", "fitted"),
    [
        pytest.param("ltx2", (50, 100, 30), (64, 96, 33), id="ltx2-multiples-of-32-and-8k+1"),
        pytest.param("wan", (50, 100, 30), (48, 96, 29), id="wan-multiples-of-16-and-4k+1"),
        pytest.param("ltx2", (5, 5, 1), (32, 32, 9), id="never-below-one-block"),
    ],
)
def test_sizes_are_fitted_to_what_the_model_accepts(request, family, asked, fitted):
    engine = request.getfixturevalue(family)
    assert engine.fit(*asked) == fitted


def test_cancel_from_the_callback_stops_before_the_next_step(ltx2):
    seen = []

    def on_step(done, total):
        seen.append(done)
        if done == 1:
            raise GenerationCancelled

    with pytest.raises(GenerationCancelled):
        ltx2.generate(request(), on_step)
    assert seen == [1]


def test_ltx2_starts_from_an_image(ltx2):
    start = np.zeros((64, 32, 3), dtype=np.uint8)
    start[:, :, 0] = 255
    clip = ltx2.generate(request(start_image=start), lambda *a: None)
    assert clip.frames.shape == (17, 64, 32, 3)
    assert ltx2.supports_start_image


def test_wan_vace_takes_reference_images_and_they_shape_the_clip(wan_vace):
    red, blue = np.zeros((64, 32, 3), dtype=np.uint8), np.zeros((64, 32, 3), dtype=np.uint8)
    red[..., 0], blue[..., 2] = 255, 255
    plain = wan_vace.generate(request(), lambda *a: None)
    with_red = wan_vace.generate(request(reference_images=(red,)), lambda *a: None)
    with_red_again = wan_vace.generate(request(reference_images=(red,)), lambda *a: None)
    with_blue = wan_vace.generate(request(reference_images=(blue,)), lambda *a: None)
    two = wan_vace.generate(request(reference_images=(red, blue)), lambda *a: None)
    assert wan_vace.supports_reference_images
    assert (
        with_red.frames.shape == plain.frames.shape == two.frames.shape == (17, 64, 32, 3)
    )  # references are not frames
    assert np.array_equal(with_red.frames, with_red_again.frames)
    assert not np.array_equal(with_red.frames, with_blue.frames)
    assert not np.array_equal(with_red.frames, plain.frames)


def test_engines_without_reference_images_refuse_them(wan):
    assert not wan.supports_reference_images
    with pytest.raises(ValueError, match="reference images"):
        wan.generate(request(reference_images=(np.zeros((64, 32, 3), dtype=np.uint8),)), lambda *a: None)


def test_a_folder_that_is_not_a_pipeline_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"model_index\.json"):
        DiffusersEngine(DiffusersSettings(path=tmp_path))


def test_clip_checks_its_arrays():
    with pytest.raises(ValueError, match="uint8"):
        Clip(frames=np.zeros((2, 4, 4, 3), dtype=np.float32), fps=8)
    with pytest.raises(ValueError, match="sample rate"):
        Clip(frames=np.zeros((2, 4, 4, 3), dtype=np.uint8), fps=8, audio=np.zeros((2, 10), dtype=np.float32))
