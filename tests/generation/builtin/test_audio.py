"""The band grid and the vocoder."""

from __future__ import annotations

import numpy as np
import torch

from generation.builtin import evaluate, world
from generation.builtin.audio import bands_to_waveform, waveform_to_bands


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
