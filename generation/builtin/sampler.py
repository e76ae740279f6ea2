"""Sampling the rectified flow: Euler steps from noise (t = 1) to data (t = 0), guided (CFG)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from generation.builtin.model import MIN_T, KinoDiT
from generation.builtin.text import TextBatch


def time_shift(t: torch.Tensor, shift: float) -> torch.Tensor:
    """Move flow times toward noise (shift > 1), as SD3 does for inputs with many values per token."""
    return shift * t / (1 + (shift - 1) * t)


def timesteps(steps: int, shift: float = 1.0) -> torch.Tensor:
    """steps + 1 times from 1 to 0; shift > 1 spends more of them at high noise."""
    return time_shift(torch.linspace(1, 0, steps + 1), shift)


@torch.inference_mode()
def sample(
    model: KinoDiT,
    text: TextBatch,
    *,
    steps: int,
    guidance: float,
    noise: tuple[torch.Tensor, torch.Tensor],
    shift: float = 1.0,
    prefix: tuple[torch.Tensor, torch.Tensor] | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(video [B, 3, T, H, W] in [-1, 1], audio grid [B, T · bins, bands]) for each prompt in `text`.

    A `prefix` (clean video [B, 3, k, H, W] and audio [B, k · bins, bands]) fixes the first k
    frames: before every step they are put where the flow has them at that time, from the same
    noise, so the network draws the rest of the clip to go on from them (the replacement method
    of "Video Diffusion Models", Ho et al. 2022). The result starts with the prefix exactly.
    """
    video, audio = noise  # [B, 3, T, H, W], [B, T · bins, bands]: the starting noise, drawn by the caller

    def pin(video: torch.Tensor, audio: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if prefix is None:
            return video, audio
        (known_v, known_a), (noise_v, noise_a) = prefix, noise
        k, ka = known_v.shape[2], known_a.shape[1]
        return (
            torch.cat([(1 - t) * known_v + t * noise_v[:, :, :k], video[:, :, k:]], dim=2),
            torch.cat([(1 - t) * known_a + t * noise_a[:, :ka], audio[:, ka:]], dim=1),
        )

    guided = guidance != 1.0
    if guided:  # one forward pass for both branches
        null = text.null()
        tokens, mask, pooled = (
            torch.cat(pair)
            for pair in ((text.tokens, null.tokens), (text.mask, null.mask), (text.pooled, null.pooled))
        )
    else:
        tokens, mask, pooled = text.tokens, text.mask, text.pooled
    times = timesteps(steps, shift).to(video.device)
    for i in range(steps):
        t, t_next = times[i], times[i + 1]
        video, audio = pin(video, audio, t)
        v_in, a_in = (torch.cat([video, video]), torch.cat([audio, audio])) if guided else (video, audio)
        clean_v, clean_a = model(v_in, a_in, t.expand(v_in.shape[0]), tokens, mask, pooled)
        if guided:  # for a fixed x_t and t, guiding the clean prediction is guiding the velocity
            (v_c, v_u), (a_c, a_u) = clean_v.chunk(2), clean_a.chunk(2)
            clean_v, clean_a = v_u + guidance * (v_c - v_u), a_u + guidance * (a_c - a_u)
        if t_next == 0:  # the last step lands on the prediction itself
            video, audio = clean_v, clean_a
        else:  # an Euler step along the velocity (x_t - x̂) / t
            step = (t_next - t) / t.clamp(min=MIN_T)
            video, audio = video + step * (video - clean_v), audio + step * (audio - clean_a)
        if on_step is not None:
            on_step(i + 1, steps)
    video, audio = pin(video, audio, times[-1])
    return video.clamp(-1, 1), audio
