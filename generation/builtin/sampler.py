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


def _conditions(text: TextBatch, guided: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(word states, mask, sentence) for one forward pass: with guidance, the prompts and then the
    null condition, so that both branches run as one batch."""
    if not guided:
        return text.tokens, text.mask, text.pooled
    null = text.null()
    return (
        torch.cat([text.tokens, null.tokens]),
        torch.cat([text.mask, null.mask]),
        torch.cat([text.pooled, null.pooled]),
    )


def _prefix_pin(
    video: torch.Tensor,
    audio: torch.Tensor,
    t: torch.Tensor,
    prefix: tuple[torch.Tensor, torch.Tensor] | None,
    noise: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """The clip with its first frames put where the flow has the clean `prefix` at time t."""
    if prefix is None:
        return video, audio
    (known_v, known_a), (noise_v, noise_a) = prefix, noise
    k, ka = known_v.shape[2], known_a.shape[1]
    return (
        torch.cat([(1 - t) * known_v + t * noise_v[:, :, :k], video[:, :, k:]], dim=2),
        torch.cat([(1 - t) * known_a + t * noise_a[:, :ka], audio[:, ka:]], dim=1),
    )


def _denoised(
    model: KinoDiT,
    video: torch.Tensor,
    audio: torch.Tensor,
    t: torch.Tensor,
    condition: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    guidance: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's clean (video, audio) at time t, guided when guidance is not 1."""
    guided = guidance != 1.0
    v_in, a_in = (torch.cat([video, video]), torch.cat([audio, audio])) if guided else (video, audio)
    clean_v, clean_a = model(v_in, a_in, t.expand(v_in.shape[0]), *condition)
    if guided:  # for a fixed x_t and t, guiding the clean prediction is guiding the velocity
        (v_c, v_u), (a_c, a_u) = clean_v.chunk(2), clean_a.chunk(2)
        clean_v, clean_a = v_u + guidance * (v_c - v_u), a_u + guidance * (a_c - a_u)
    return clean_v, clean_a


def _euler_step(x: torch.Tensor, clean: torch.Tensor, t: torch.Tensor, t_next: torch.Tensor) -> torch.Tensor:
    """x at t_next: an Euler step along the velocity (x_t - x̂) / t; the last step lands on x̂ itself."""
    if t_next == 0:
        return clean
    return x + (t_next - t) / t.clamp(min=MIN_T) * (x - clean)


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
    condition = _conditions(text, guided=guidance != 1.0)
    times = timesteps(steps, shift).to(video.device)
    for i in range(steps):
        t, t_next = times[i], times[i + 1]
        video, audio = _prefix_pin(video, audio, t, prefix, noise)
        clean_v, clean_a = _denoised(model, video, audio, t, condition, guidance)
        video, audio = _euler_step(video, clean_v, t, t_next), _euler_step(audio, clean_a, t, t_next)
        if on_step is not None:
            on_step(i + 1, steps)
    video, audio = _prefix_pin(video, audio, times[-1], prefix, noise)
    return video.clamp(-1, 1), audio
