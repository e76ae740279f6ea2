"""The sampler: shifted times and a clean prefix."""

from __future__ import annotations

import torch

from generation.builtin.sampler import time_shift, timesteps


def test_time_shift_moves_times_toward_noise_and_keeps_the_ends():
    t = torch.tensor([0.0, 0.5, 1.0])
    assert time_shift(t, 1.0).tolist() == t.tolist()
    assert time_shift(t, 3.0).tolist() == [0.0, 0.75, 1.0]
    assert timesteps(4, 3.0)[1] > timesteps(4, 1.0)[1]


def test_a_prefix_fixes_the_first_frames_and_steers_the_rest(tiny_pipeline):
    from generation.builtin.sampler import sample

    model, c = tiny_pipeline.model, tiny_pipeline.config
    text = tiny_pipeline.text_encoder(["a red ball bouncing"])
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
