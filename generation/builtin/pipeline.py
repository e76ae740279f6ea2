"""The built-in model's pipeline: a prompt in, a clip (frames + sound) out, in one call.

A model folder holds `config.json` (the ModelConfig plus sampling defaults) and
`model.safetensors` (the EMA weights). The committed checkpoint lives in `weights/`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from generation.builtin.audio import bands_to_waveform
from generation.builtin.model import KinoDiT, ModelConfig
from generation.builtin.sampler import sample
from generation.builtin.text import TextEncoder

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SAMPLING_DEFAULTS = {"steps": 24, "guidance": 4.0, "shift": 1.0}


def weights_save(model: KinoDiT, folder: Path, extra: dict[str, Any] | None = None) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: value.detach().contiguous().float() for name, value in model.state_dict().items()}
    save_file(tensors, str(folder / "model.safetensors.tmp"))
    (folder / "model.safetensors.tmp").replace(folder / "model.safetensors")
    info = {"model": model.config.to_dict(), "sampling": SAMPLING_DEFAULTS, **(extra or {})}
    (folder / "config.json").write_text(json.dumps(info, indent=2) + "\n")


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
        from safetensors.torch import load_file

        info = json.loads((folder / "config.json").read_text())
        model = KinoDiT(ModelConfig.from_dict(info["model"]))
        model.load_state_dict(load_file(str(folder / "model.safetensors")))
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
        on_step: Callable[[int, int], None] | None = None,
    ) -> Output:
        return self.batch([prompt], seeds=[seed], steps=steps, guidance=guidance, on_step=on_step)[0]

    def batch(
        self,
        prompts: list[str],
        *,
        seeds: list[int],
        steps: int | None = None,
        guidance: float | None = None,
        on_step: Callable[[int, int], None] | None = None,
    ) -> list[Output]:
        """Several prompts in one pass; each clip depends only on its own prompt and seed."""
        c = self.config
        text = self.text_encoder(prompts)
        device = next(self.model.parameters()).device
        videos, audios = [], []
        for seed in seeds:  # per-prompt noise, so batching never changes a clip
            generator = torch.Generator(device="cpu").manual_seed(seed)
            videos.append(torch.randn((3, c.frames, c.size, c.size), generator=generator))
            audios.append(torch.randn((c.audio_steps, c.audio_bands), generator=generator))
        video, audio = sample(
            self.model,
            text,
            noise=(torch.stack(videos).to(device), torch.stack(audios).to(device)),
            steps=int(steps or self.sampling["steps"]),
            guidance=float(self.sampling["guidance"] if guidance is None else guidance),
            shift=float(self.sampling["shift"]),
            on_step=on_step,
        )
        frames = (
            ((video.permute(0, 2, 3, 4, 1) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
        )
        return [
            Output(
                frames=frames[i],
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
            for i in range(len(prompts))
        ]
