"""Sampling the rectified flow: Euler steps from noise (t = 1) to data (t = 0), guided (CFG)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from generation.builtin.model import MIN_T, KinoDiT
from generation.builtin.text import TextBatch


def timesteps(steps: int, shift: float = 1.0) -> torch.Tensor:
    """steps + 1 times from 1 to 0; shift > 1 spends more of them at high noise (as in SD3)."""
    t = torch.linspace(1, 0, steps + 1)
    return shift * t / (1 + (shift - 1) * t)


@torch.inference_mode()
def sample(
    model: KinoDiT,
    text: TextBatch,
    *,
    steps: int,
    guidance: float,
    noise: tuple[torch.Tensor, torch.Tensor],
    shift: float = 1.0,
    on_step: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(video [B, 3, T, H, W] in [-1, 1], audio grid [B, T · bins, bands]) for each prompt in `text`."""
    video, audio = noise  # [B, 3, T, H, W], [B, T · bins, bands]: the starting noise, drawn by the caller
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
    return video.clamp(-1, 1), audio
