"""The pipeline: a prompt and a seed in, a clip out; the shipped checkpoint."""

from __future__ import annotations

import numpy as np

from generation.builtin.pipeline import KinoPipeline


def test_same_seed_same_clip_other_seed_other_clip(tiny_pipeline):
    pipeline = tiny_pipeline
    one, again = pipeline("a red ball bouncing", seed=4), pipeline("a red ball bouncing", seed=4)
    other = pipeline("a red ball bouncing", seed=5)
    assert np.array_equal(one.frames, again.frames)
    assert np.array_equal(one.audio, again.audio)
    assert not np.array_equal(one.frames, other.frames)


def test_longer_clips_are_drawn_window_after_window(tiny_pipeline):
    pipeline, c = tiny_pipeline, tiny_pipeline.config
    steps: list[tuple[int, int]] = []
    native = pipeline("a blue box moving left", seed=3, steps=3)
    long = pipeline("a blue box moving left", seed=3, steps=3, frames=14, on_step=lambda *a: steps.append(a))
    # 8 native frames, then windows that keep 4 and add 4: three windows for 14 frames.
    assert steps == [(i, 9) for i in range(1, 10)]
    assert long.frames.shape == (14, c.size, c.size, 3)
    assert long.audio.shape == (14 * 2000,)  # 14 frames at 8 fps, 16 kHz
    assert np.array_equal(long.frames[: c.frames], native.frames)  # going on never changes the start
    assert np.array_equal(long.frames, pipeline("a blue box moving left", seed=3, steps=3, frames=14).frames)


def test_committed_weights_are_small_and_load():
    from generation.builtin.pipeline import WEIGHTS_DIR

    assert (WEIGHTS_DIR / "model.safetensors").stat().st_size <= 50 * 2**20
    pipeline = KinoPipeline.from_pretrained(WEIGHTS_DIR)
    assert pipeline.config.frames == 16
    assert pipeline.config.size == 32
