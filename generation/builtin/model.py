"""Kino's built-in model: one diffusion transformer over spacetime patches of video and audio together.

The video clip [3, T, H, W] is cut into (patch_t x patch x patch) patches and the audio grid
[T · bins_per_frame, bands] into one patch per patch_t frames, so token i of the audio and the
video tokens of time slot i share a time embedding: attention can line a sound up with the
motion that makes it. Text comes in twice, as in DiT and SD3: the pooled sentence embedding
modulates every block (adaLN-Zero, with the flow time), and the word states join the sequence.

The network predicts the clean clip, not the velocity or the noise: a patch of 2 x 8 x 8 RGB
pixels (384 numbers) is wider than a token (128), and noise, unlike a clean clip, cannot pass
through that bottleneck ("Back to Basics: Let Denoising Generative Models Denoise", Li & He,
2025). The sampler turns the prediction into a velocity, (x_t - x̂) / t.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

MIN_T = 0.05  # velocities from a clean-clip prediction divide by t; never by less than this


@dataclass(frozen=True)
class ModelConfig:
    frames: int = 16
    size: int = 32  # square frames, pixels
    fps: float = 8.0
    patch_t: int = 2
    patch: int = 8
    sample_rate: int = 16000
    audio_bands: int = 16
    bins_per_frame: int = 4
    text_dim: int = 384  # all-MiniLM-L6-v2
    text_tokens: int = 16
    dim: int = 192
    depth: int = 6
    heads: int = 6
    mlp_ratio: float = 4.0
    rope: bool = False  # rotary positions (time, row, column) in attention, on top of the learned ones
    noise_correlation: float = 0.0  # how much of the video noise all frames share (see video_noise)

    @property
    def slots(self) -> int:  # time slots: video tokens per slot = (size / patch)², one audio token per slot
        return self.frames // self.patch_t

    @property
    def video_tokens(self) -> int:
        return self.slots * (self.size // self.patch) ** 2

    @property
    def audio_steps(self) -> int:
        return self.frames * self.bins_per_frame

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        unknown_keys_refuse(cls, data, "model key")
        return cls(**data)


def unknown_keys_refuse(config: type, data: dict[str, Any], what: str) -> None:
    """Raise ValueError naming the keys of `data` that are no field of the dataclass `config`: a
    misspelt knob must stop a run, not leave it on its default unseen."""
    names = {f.name for f in fields(config)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(
            f"unknown {what}(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(names))}"
        )


def video_noise(
    shape: tuple[int, ...], correlation: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Unit Gaussian noise for video [..., 3, T, H, W] in which a pixel's values in any two frames
    correlate by `correlation`: a part shared by all frames plus a part of each frame's own (the
    mixed noise of "Preserve Your Own Correlation", Ge et al. 2023). With independent noise each
    time slot is denoised toward wherever its own noise hints the object is, and the object jumps
    between slots; shared noise hints the same place to all of them.
    """
    own = torch.randn(shape, generator=generator)
    if not correlation:
        return own
    shared = torch.randn((*shape[:-3], 1, *shape[-2:]), generator=generator)
    return math.sqrt(correlation) * shared + math.sqrt(1 - correlation) * own


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * 1000 * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


def rope_angles(config: ModelConfig) -> torch.Tensor:
    """[text + video + audio tokens, head_dim / 2] rotary angles, as the sequence is laid out.

    A third of each head's rotation pairs turn with the row, a third with the column and the
    rest with time, so attention can ask for "the same place one slot later" whatever the place.
    Time counts in 2-frame steps whatever patch_t is, so a network cut into 1-frame slots can
    start from one trained on 2-frame slots (`split_slots`). Audio tokens sit at their slot and
    the frame's centre; words are not turned.
    """
    c = config
    pairs = c.dim // c.heads // 2
    n_space = pairs // 3
    n_time = pairs - 2 * n_space
    grid = c.size // c.patch

    def freqs(n: int) -> torch.Tensor:  # from one turn per token down to slow ones: these axes are short
        return 100.0 ** (-torch.arange(n, dtype=torch.float32) / max(n, 1))

    slot, row, col = torch.meshgrid(
        torch.arange(c.slots), torch.arange(grid), torch.arange(grid), indexing="ij"
    )
    centre = torch.full((c.slots,), (grid - 1) / 2)
    time = c.patch_t / 2  # a slot's length in 2-frame steps
    positions = torch.cat(
        [
            torch.stack([slot.flatten() * time, row.flatten(), col.flatten()], 1).float(),  # video
            torch.stack([torch.arange(c.slots) * time, centre, centre], 1).float(),  # audio
        ]
    )
    angles = torch.cat(
        [
            positions[:, :1] * freqs(n_time),
            positions[:, 1:2] * freqs(n_space),
            positions[:, 2:] * freqs(n_space),
        ],
        dim=1,
    )
    return torch.cat([torch.zeros(c.text_tokens, pairs), angles])


def rope_apply(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Turn x [B, tokens, heads, head_dim] by per-token angles (cos, sin: [tokens, 1, head_dim / 2])."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        self.ada = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(
        self,
        x: torch.Tensor,
        c: torch.Tensor,
        mask: torch.Tensor | None,
        rope: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(F.silu(c)).chunk(6, dim=-1)
        b, n, d = x.shape
        q, k, v = (
            self.qkv(modulate(self.norm1(x), shift1, scale1))
            .view(b, n, 3, self.heads, d // self.heads)
            .unbind(2)
        )
        if rope is not None:
            q, k = rope_apply(q, *rope), rope_apply(k, *rope)
        attn = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask
        )
        x = x + gate1[:, None] * self.proj(attn.transpose(1, 2).reshape(b, n, d))
        return x + gate2[:, None] * self.mlp(modulate(self.norm2(x), shift2, scale2))


class KinoDiT(nn.Module):
    rope_cos: torch.Tensor  # buffers [tokens, 1, head_dim / 2], when config.rope
    rope_sin: torch.Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = c = config
        grid = c.size // c.patch
        self.video_patch_dim = 3 * c.patch_t * c.patch * c.patch
        self.audio_patch_dim = c.patch_t * c.bins_per_frame * c.audio_bands
        self.video_in = nn.Linear(self.video_patch_dim, c.dim)
        self.audio_in = nn.Linear(self.audio_patch_dim, c.dim)
        self.text_in = nn.Sequential(nn.LayerNorm(c.text_dim), nn.Linear(c.text_dim, c.dim))
        self.time_pos = nn.Parameter(torch.randn(c.slots, c.dim) * 0.02)  # shared by video and audio
        self.row_pos = nn.Parameter(torch.randn(grid, c.dim) * 0.02)
        self.col_pos = nn.Parameter(torch.randn(grid, c.dim) * 0.02)
        self.kind = nn.Parameter(torch.randn(3, c.dim) * 0.02)  # text, video, audio
        self.text_pos = nn.Parameter(torch.randn(c.text_tokens, c.dim) * 0.02)
        self.t_mlp = nn.Sequential(nn.Linear(c.dim, c.dim), nn.SiLU(), nn.Linear(c.dim, c.dim))
        self.pooled_mlp = nn.Sequential(nn.Linear(c.text_dim, c.dim), nn.SiLU(), nn.Linear(c.dim, c.dim))
        self.blocks = nn.ModuleList(Block(c.dim, c.heads, c.mlp_ratio) for _ in range(c.depth))
        self.final_norm = nn.LayerNorm(c.dim, elementwise_affine=False, eps=1e-6)
        self.final_ada = nn.Linear(c.dim, 2 * c.dim)
        self.video_out = nn.Linear(c.dim, self.video_patch_dim)
        self.audio_out = nn.Linear(c.dim, self.audio_patch_dim)
        for layer in (self.final_ada, self.video_out, self.audio_out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        if c.rope:  # made once; not saved with the weights
            angles = rope_angles(c)[:, None]
            self.register_buffer("rope_cos", angles.cos(), persistent=False)
            self.register_buffer("rope_sin", angles.sin(), persistent=False)

    # -- patches ------------------------------------------------------------------------------

    def video_patchify(self, video: torch.Tensor) -> torch.Tensor:
        """[B, 3, T, H, W] → [B, tokens, patch_dim], time slot major, then rows, then columns."""
        c, b = self.config, video.shape[0]
        g = c.size // c.patch
        x = video.reshape(b, 3, c.slots, c.patch_t, g, c.patch, g, c.patch)
        return x.permute(0, 2, 4, 6, 1, 3, 5, 7).reshape(b, c.video_tokens, self.video_patch_dim)

    def video_unpatchify(self, tokens: torch.Tensor) -> torch.Tensor:
        c, b = self.config, tokens.shape[0]
        g = c.size // c.patch
        x = tokens.reshape(b, c.slots, g, g, 3, c.patch_t, c.patch, c.patch)
        return x.permute(0, 4, 1, 5, 2, 6, 3, 7).reshape(b, 3, c.frames, c.size, c.size)

    def audio_patchify(self, audio: torch.Tensor) -> torch.Tensor:
        """[B, T · bins_per_frame, bands] → [B, slots, patch_dim]."""
        return audio.reshape(audio.shape[0], self.config.slots, self.audio_patch_dim)

    def audio_unpatchify(self, tokens: torch.Tensor) -> torch.Tensor:
        c = self.config
        return tokens.reshape(tokens.shape[0], c.audio_steps, c.audio_bands)

    # -- the network --------------------------------------------------------------------------

    def forward(
        self,
        video: torch.Tensor,  # [B, 3, T, H, W], noisy
        audio: torch.Tensor,  # [B, T · bins_per_frame, bands], noisy
        t: torch.Tensor,  # [B] flow time in [0, 1] (1 = pure noise)
        text: torch.Tensor,  # [B, text_tokens, text_dim] word states
        text_mask: torch.Tensor,  # [B, text_tokens] bool, True where a word is
        pooled: torch.Tensor,  # [B, text_dim] sentence embedding
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The predicted clean (video, audio)."""
        c = self.config
        g = c.size // c.patch
        b = video.shape[0]
        spatial = (self.row_pos[:, None] + self.col_pos[None]).reshape(g * g, c.dim)
        video_pos = (self.time_pos[:, None] + spatial[None]).reshape(c.video_tokens, c.dim)
        v = self.video_in(self.video_patchify(video)) + video_pos + self.kind[1]
        a = self.audio_in(self.audio_patchify(audio)) + self.time_pos + self.kind[2]
        w = self.text_in(text) + self.text_pos + self.kind[0]
        x = torch.cat([w, v, a], dim=1)
        keep = torch.cat(
            [text_mask, torch.ones(b, v.shape[1] + a.shape[1], dtype=torch.bool, device=x.device)], 1
        )
        mask = keep[:, None, None, :]  # attend to words that exist, and every patch
        cond = self.t_mlp(timestep_embedding(t, c.dim)) + self.pooled_mlp(pooled)
        rope = (self.rope_cos, self.rope_sin) if c.rope else None
        for block in self.blocks:
            x = block(x, cond, mask, rope)
        shift, scale = self.final_ada(F.silu(cond)).chunk(2, dim=-1)
        x = modulate(self.final_norm(x), shift, scale)
        n_text = w.shape[1]
        video_v = self.video_unpatchify(self.video_out(x[:, n_text : n_text + v.shape[1]]))
        audio_v = self.audio_unpatchify(self.audio_out(x[:, n_text + v.shape[1] :]))
        return video_v, audio_v


def split_slots(
    state: dict[str, torch.Tensor], old: ModelConfig, new: ModelConfig
) -> dict[str, torch.Tensor]:
    """Weights for `new`, whose time slots are `old`'s cut into shorter ones (patch_t 2 → 1),
    from `old`'s weights: the way to go on training with finer time from a trained checkpoint.

    A short patch is embedded by the sum of the long patch's per-frame weights (a still object
    embeds as before), is predicted by their mean, and each short slot takes the learned time
    position of the long slot it was cut from; everything else carries over as it is.
    """
    if old.patch_t % new.patch_t or replace(old, patch_t=new.patch_t) != new:
        raise ValueError(
            f"cannot cut {old.patch_t}-frame slots into {new.patch_t}-frame ones "
            "(not a divisor, or not the same network apart from patch_t)"
        )
    r, d = old.patch_t // new.patch_t, old.dim
    out = dict(state)
    out["video_in.weight"] = state["video_in.weight"].reshape(d, 3, r, -1).sum(2).reshape(d, -1)
    out["video_out.weight"] = state["video_out.weight"].reshape(3, r, -1, d).mean(1).reshape(-1, d)
    out["video_out.bias"] = state["video_out.bias"].reshape(3, r, -1).mean(1).flatten()
    out["audio_in.weight"] = state["audio_in.weight"].reshape(d, r, -1).sum(1)
    out["audio_out.weight"] = state["audio_out.weight"].reshape(r, -1, d).mean(0)
    out["audio_out.bias"] = state["audio_out.bias"].reshape(r, -1).mean(0)
    out["time_pos"] = state["time_pos"].repeat_interleave(r, dim=0)
    return out


def grow_depth(
    state: dict[str, torch.Tensor], old: ModelConfig, new: ModelConfig, fresh: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Weights for `new`, `old` with more blocks, from `old`'s weights: the way to give a trained
    network more depth and go on training it.

    Old block i moves to place round(i · new.depth / old.depth), so the old blocks spread evenly;
    the places between take a new network's blocks (`fresh`, its state dict) with their adaLN-Zero
    modulation zeroed. A zero gate makes a block the identity, so the grown network computes
    exactly what `old` did and training starts from there (the zero init DiT gives every block).
    """
    if new.depth < old.depth or replace(old, depth=new.depth) != new:
        raise ValueError(
            f"cannot grow {old.depth} blocks into {new.depth} "
            "(fewer, or not the same network apart from depth)"
        )
    places = {round(i * new.depth / old.depth): i for i in range(old.depth)}  # new place -> old block
    out = {name: value for name, value in state.items() if not name.startswith("blocks.")}
    for name, value in fresh.items():
        if not name.startswith("blocks."):
            continue
        _, place, rest = name.split(".", 2)
        if int(place) in places:
            out[name] = state[f"blocks.{places[int(place)]}.{rest}"]
        else:
            out[name] = torch.zeros_like(value) if rest.startswith("ada.") else value
    return out
