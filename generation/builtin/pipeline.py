"""The built-in model's pipeline: a prompt in, a clip (frames + sound) out, in one call.

A model folder holds `config.json` (the ModelConfig plus sampling defaults) and
`model.safetensors` (the EMA weights). The committed checkpoint lives in `weights/`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from generation.builtin.audio import bands_to_waveform
from generation.builtin.model import KinoDiT, ModelConfig, video_noise
from generation.builtin.sampler import sample
from generation.builtin.text import TextBatch, TextEncoder

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SAMPLING_DEFAULTS = {"steps": 24, "guidance": 4.0, "shift": 1.0}
# A longer clip is made window by window; each window goes on from the last frames of the one before.
OVERLAP_FRAMES = 4


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
    ) -> Output:
        return self.batch(
            [prompt], seeds=[seed], steps=steps, guidance=guidance, frames=frames, on_step=on_step
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
    ) -> list[Output]:
        """Several prompts in one pass; each clip depends only on its own prompt and seed.

        `frames` beyond the model's native length are made in overlapping windows: each window
        starts from the last OVERLAP_FRAMES frames of the clip so far (see `sample`'s prefix)
        and adds the rest. on_step counts the steps of all windows.
        """
        c = self.config
        wanted = frames or c.frames
        windows = window_count(wanted, c.frames)
        steps = int(steps or self.sampling["steps"])
        guidance = float(self.sampling["guidance"] if guidance is None else guidance)
        text = self.text_encoder(prompts)
        # Per-prompt noise, so batching never changes a clip.
        generators = [torch.Generator(device="cpu").manual_seed(seed) for seed in seeds]
        window = partial(self._window, text, generators, steps=steps, guidance=guidance)
        video, audio = window(prefix=None, on_step=_steps_offset(on_step, 0, windows * steps))
        overlap, bins = OVERLAP_FRAMES, c.bins_per_frame
        for index in range(1, windows):
            new_v, new_a = window(
                prefix=(video[:, :, -overlap:], audio[:, -overlap * bins :]),
                on_step=_steps_offset(on_step, index * steps, windows * steps),
            )
            video = torch.cat([video, new_v[:, :, overlap:]], dim=2)
            audio = torch.cat([audio, new_a[:, overlap * bins :]], dim=1)
        return self._outputs(video[:, :, :wanted], audio[:, : wanted * bins], seeds)

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


def window_count(frames: int, native: int) -> int:
    """How many windows of `native` frames, each after the first adding native - OVERLAP_FRAMES,
    it takes to make `frames`."""
    return 1 + max(0, math.ceil((frames - native) / (native - OVERLAP_FRAMES)))


def _steps_offset(
    on_step: Callable[[int, int], None] | None, before: int, total: int
) -> Callable[[int, int], None] | None:
    """A window's step callback that reports to `on_step` counting all windows' steps."""
    if on_step is None:
        return None
    return lambda done, _total: on_step(before + done, total)
