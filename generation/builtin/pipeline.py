"""The built-in model's pipeline: a prompt in, a clip (frames + sound) out, in one call.

A model folder holds `config.json` (the ModelConfig plus sampling defaults) and
`model.safetensors` (the EMA weights). The committed checkpoint lives in `weights/`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from generation.builtin.audio import bands_to_waveform, waveform_to_bands
from generation.builtin.model import KinoDiT, ModelConfig, video_noise
from generation.builtin.sampler import sample
from generation.builtin.text import TextBatch, TextEncoder

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# history_guidance: how hard a window after the first is held to the frames it goes on from (see
# `sample`); chosen on the continuity measure (generation/builtin/continuity.py), not trained.
SAMPLING_DEFAULTS = {"steps": 24, "guidance": 4.0, "shift": 1.0, "history_guidance": 4.0}
# A longer clip is made window by window; each window goes on from the last half of the one before.
# Half, not a quarter: with more of the motion known, the network less often starts it over (the
# joins of 60 s clips moved about half as far, for twice the windows).
OVERLAP_SHARE = 0.5


def device_resolve(device: str) -> str:
    """A torch device name: as given, or for "auto" cuda when there is one, else cpu."""
    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def weights_save(
    model: KinoDiT,
    folder: Path,
    *,
    sampling: dict[str, float] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: value.detach().float().cpu().contiguous() for name, value in model.state_dict().items()}
    save_file(tensors, str(folder / "model.safetensors.tmp"))
    (folder / "model.safetensors.tmp").replace(folder / "model.safetensors")
    info = {"model": model.config.to_dict(), "sampling": sampling or SAMPLING_DEFAULTS, **(extra or {})}
    (folder / "config.json").write_text(json.dumps(info, indent=2) + "\n")


def weights_load(folder: Path) -> tuple[ModelConfig, dict[str, torch.Tensor], dict[str, Any]]:
    """What `weights_save` wrote: the network's config, its weights, and the whole config.json."""
    from safetensors.torch import load_file

    info = json.loads((folder / "config.json").read_text())
    return ModelConfig.from_dict(info["model"]), load_file(str(folder / "model.safetensors")), info


# An extension's start: frames uint8 [K, size, size, 3] at the model's size and their sound, a mono
# waveform float32 [N] at the model's sample rate (the last K frames' worth is used).
Prefix = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Output:
    frames: np.ndarray  # uint8 [T, size, size, 3]
    audio: np.ndarray  # float32 [N], mono
    sample_rate: int
    fps: float


class KinoPipeline:
    def __init__(
        self, model: KinoDiT, text_encoder: TextEncoder, sampling: dict[str, float] | None = None
    ) -> None:
        self.model = model.eval()
        self.text_encoder = text_encoder
        self.config = model.config
        self.sampling = {**SAMPLING_DEFAULTS, **(sampling or {})}

    @classmethod
    def from_pretrained(cls, folder: Path = WEIGHTS_DIR, device: str = "cpu") -> KinoPipeline:
        config, weights, info = weights_load(folder)
        model = KinoDiT(config)
        model.load_state_dict(weights)
        model.to(device)
        return cls(
            model, TextEncoder(max_tokens=model.config.text_tokens, device=device), info.get("sampling")
        )

    def __call__(
        self,
        prompt: str,
        *,
        seed: int = 0,
        steps: int | None = None,
        guidance: float | None = None,
        frames: int | None = None,
        on_step: Callable[[int, int], None] | None = None,
        prefix: Prefix | None = None,
    ) -> Output:
        return self.batch(
            [prompt],
            seeds=[seed],
            steps=steps,
            guidance=guidance,
            frames=frames,
            on_step=on_step,
            prefix=prefix,
        )[0]

    def batch(
        self,
        prompts: list[str],
        *,
        seeds: list[int],
        steps: int | None = None,
        guidance: float | None = None,
        frames: int | None = None,
        on_step: Callable[[int, int], None] | None = None,
        prefix: Prefix | None = None,
    ) -> list[Output]:
        """Several prompts in one pass; each clip depends only on its own prompt and seed.

        `frames` beyond the model's native length are made in overlapping windows: each window
        starts from the last `overlap_frames` of the clip so far (see `sample`'s prefix and
        history guidance) and adds the rest. A `prefix` (an extension: frames at the model's size
        and their sound at its sample rate) is the clip so far before the first window: every
        clip starts with it and goes on from it. on_step counts the steps of all windows.
        """
        c = self.config
        wanted = frames or c.frames
        video, audio = self._known(prefix, len(prompts))
        plan = window_plan(wanted, c.frames, given=video.shape[2])
        if not plan:
            raise ValueError(f"a prefix of {video.shape[2]} frames leaves none of the {wanted} to draw")
        steps = int(steps or self.sampling["steps"])
        guidance = float(self.sampling["guidance"] if guidance is None else guidance)
        text = self.text_encoder(prompts)
        # Per-prompt noise, so batching never changes a clip.
        generators = [torch.Generator(device="cpu").manual_seed(seed) for seed in seeds]
        window = partial(self._window, text, generators, steps=steps, guidance=guidance)
        bins = c.bins_per_frame
        for index, keep in enumerate(plan):
            known = (video[:, :, video.shape[2] - keep :], audio[:, audio.shape[1] - keep * bins :])
            new_v, new_a = window(
                prefix=known if keep else None,
                on_step=_steps_offset(on_step, index * steps, len(plan) * steps),
            )
            video = torch.cat([video, new_v[:, :, keep:]], dim=2)
            audio = torch.cat([audio, new_a[:, keep * bins :]], dim=1)
        return self._outputs(video[:, :, :wanted], audio[:, : wanted * bins], seeds)

    def _known(self, prefix: Prefix | None, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The clip so far for `count` prompts, as the sampler takes it: video [B, 3, K, size, size]
        in [-1, 1] and the audio band grid [B, K · bins, bands], from a prefix of K frames uint8
        [K, size, size, 3] and their waveform float32 [N] at the model's sample rate (K = 0: none).

        The sound is the last K frames' worth of the waveform (silence before it if it is shorter),
        measured into bands as training measures the world's sound, from the window's first sample.
        """
        c = self.config
        device = next(self.model.parameters()).device
        if prefix is None:
            return (
                torch.zeros((count, 3, 0, c.size, c.size), device=device),
                torch.zeros((count, 0, c.audio_bands), device=device),
            )
        pictures, waveform = prefix
        if pictures.ndim != 4 or pictures.shape[1:] != (c.size, c.size, 3) or pictures.dtype != np.uint8:
            raise ValueError(f"prefix frames must be uint8 [K, {c.size}, {c.size}, 3], got {pictures.shape}")
        video = torch.from_numpy(pictures).permute(3, 0, 1, 2).float() / 127.5 - 1
        span = round(len(pictures) * c.sample_rate / c.fps)
        sound = np.zeros(span, dtype=np.float32)
        tail = np.asarray(waveform, dtype=np.float32)[-span:]
        sound[span - len(tail) :] = tail
        audio = waveform_to_bands(
            torch.from_numpy(sound)[None],
            sample_rate=c.sample_rate,
            fps=c.fps,
            frames=len(pictures),
            bins_per_frame=c.bins_per_frame,
            bands=c.audio_bands,
        )
        return video[None].expand(count, -1, -1, -1, -1).to(device), audio.expand(count, -1, -1).to(device)

    def _window(
        self,
        text: TextBatch,
        generators: list[torch.Generator],
        *,
        steps: int,
        guidance: float,
        prefix: tuple[torch.Tensor, torch.Tensor] | None,
        on_step: Callable[[int, int], None] | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One window of the model's native length for each prompt, from its own generator's noise."""
        c = self.config
        device = next(self.model.parameters()).device
        noise_v = [video_noise((3, c.frames, c.size, c.size), c.noise_correlation, g) for g in generators]
        noise_a = [torch.randn((c.audio_steps, c.audio_bands), generator=g) for g in generators]
        return sample(
            self.model,
            text,
            noise=(torch.stack(noise_v).to(device), torch.stack(noise_a).to(device)),
            steps=steps,
            guidance=guidance,
            shift=float(self.sampling["shift"]),
            prefix=prefix,
            history_guidance=float(self.sampling["history_guidance"]),
            on_step=on_step,
        )

    def _outputs(self, video: torch.Tensor, audio: torch.Tensor, seeds: list[int]) -> list[Output]:
        """Clips from video [B, 3, T, H, W] in [-1, 1] and audio grids [B, T · bins, bands]."""
        c = self.config
        frames_u8 = (
            ((video.permute(0, 2, 3, 4, 1) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
        )
        return [
            Output(
                frames=frames_u8[i],
                audio=bands_to_waveform(
                    audio[i],
                    sample_rate=c.sample_rate,
                    fps=c.fps,
                    bins_per_frame=c.bins_per_frame,
                    seed=seeds[i],
                ),
                sample_rate=c.sample_rate,
                fps=c.fps,
            )
            for i in range(len(frames_u8))
        ]


def overlap_frames(native: int) -> int:
    """How many frames of the clip so far a window of `native` frames goes on from."""
    return max(1, int(native * OVERLAP_SHARE))


def window_plan(frames: int, native: int, given: int = 0) -> list[int]:
    """How many known frames each window goes on from (0: the first window of a clip with no
    prefix), for a clip of `frames` whose first `given` frames are known: each window draws
    `native` frames, the first min(known so far, overlap_frames) of them known."""
    plan: list[int] = []
    made, overlap = given, overlap_frames(native)
    while made < frames:
        keep = min(made, overlap)
        plan.append(keep)
        made += native - keep
    return plan


def window_count(frames: int, native: int) -> int:
    """How many windows of `native` frames, each after the first adding native - overlap_frames,
    it takes to make `frames` (with a prefix of overlap_frames or fewer, as many)."""
    return len(window_plan(frames, native))


def window_starts(frames: int, native: int, given: int = 0) -> list[int]:
    """Where each window's new frames begin in a clip of `frames` whose first `given` are known."""
    starts, made = [], given
    for keep in window_plan(frames, native, given):
        starts.append(made)
        made += native - keep
    return starts


def _steps_offset(
    on_step: Callable[[int, int], None] | None, before: int, total: int
) -> Callable[[int, int], None] | None:
    """A window's step callback that reports to `on_step` counting all windows' steps."""
    if on_step is None:
        return None
    return lambda done, _total: on_step(before + done, total)
