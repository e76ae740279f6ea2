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


def _stacked(texts: list[TextBatch]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(word states, mask, sentence) of several conditions, one after the other in one batch."""
    return (
        torch.cat([t.tokens for t in texts]),
        torch.cat([t.mask for t in texts]),
        torch.cat([t.pooled for t in texts]),
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


def _forgotten(
    video: torch.Tensor,
    audio: torch.Tensor,
    prefix: tuple[torch.Tensor, torch.Tensor],
    noise: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """The clip with its known first frames put back to pure noise: as if they were not known."""
    k, ka = prefix[0].shape[2], prefix[1].shape[1]
    return (
        torch.cat([noise[0][:, :, :k], video[:, :, k:]], dim=2),
        torch.cat([noise[1][:, :ka], audio[:, ka:]], dim=1),
    )


def _denoised(
    model: KinoDiT,
    video: torch.Tensor,
    audio: torch.Tensor,
    t: torch.Tensor,
    text: TextBatch,
    guidance: float,
    history: tuple[torch.Tensor, torch.Tensor, float] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's clean (video, audio) at time t, guided when guidance is not 1; with `history`
    (the clip without its known frames, and a weight), also pushed away from what the network
    draws without them. All branches run as one batch."""
    branches = [(video, audio, text)]
    if guidance != 1.0:
        branches.append((video, audio, text.null()))
    if history is not None:
        branches.append((history[0], history[1], text))
    v_in, a_in = torch.cat([b[0] for b in branches]), torch.cat([b[1] for b in branches])
    clean_v, clean_a = model(v_in, a_in, t.expand(v_in.shape[0]), *_stacked([b[2] for b in branches]))
    v_out, a_out = clean_v.chunk(len(branches)), clean_a.chunk(len(branches))
    out_v, out_a = v_out[0], a_out[0]
    if guidance != 1.0:  # for a fixed x_t and t, guiding the clean prediction is guiding the velocity
        out_v, out_a = v_out[1] + guidance * (out_v - v_out[1]), a_out[1] + guidance * (out_a - a_out[1])
    if history is not None:
        weight = history[2]
        out_v, out_a = out_v + weight * (v_out[0] - v_out[-1]), out_a + weight * (a_out[0] - a_out[-1])
    return out_v, out_a


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
    history_guidance: float = 0.0,
    on_step: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(video [B, 3, T, H, W] in [-1, 1], audio grid [B, T · bins, bands]) for each prompt in `text`.

    A `prefix` (clean video [B, 3, k, H, W] and audio [B, k · bins, bands]) fixes the first k
    frames: before every step they are put where the flow has them at that time, from the same
    noise, so the network draws the rest of the clip to go on from them (the replacement method
    of "Video Diffusion Models", Ho et al. 2022). The result starts with the prefix exactly.

    The network was never trained to go on from given frames, and on its own it draws each window
    as a clip of its own: the object back where its motion starts, a jump at the join.
    `history_guidance` (with a prefix) also runs the network with the known frames put back to
    noise and pushes the prediction away from that one, by this weight: what the known frames
    say is amplified, as classifier-free guidance amplifies the prompt ("History-Guided Video
    Diffusion", Song et al. 2025). One more branch in the batch: about 1.5 times the work.
    """
    video, audio = noise  # [B, 3, T, H, W], [B, T · bins, bands]: the starting noise, drawn by the caller
    times = timesteps(steps, shift).to(video.device)
    for i in range(steps):
        t, t_next = times[i], times[i + 1]
        video, audio = _prefix_pin(video, audio, t, prefix, noise)
        history = None
        if prefix is not None and history_guidance:
            history = (*_forgotten(video, audio, prefix, noise), history_guidance)
        clean_v, clean_a = _denoised(model, video, audio, t, text, guidance, history)
        video, audio = _euler_step(video, clean_v, t, t_next), _euler_step(audio, clean_a, t, t_next)
        if on_step is not None:
            on_step(i + 1, steps)
    video, audio = _prefix_pin(video, audio, times[-1], prefix, noise)
    return video.clamp(-1, 1), audio
