"""The built-in engine: Kino's own joint audio-video model (generation/builtin), small enough for a CPU.

It makes square clips of its native size (32 x 32 at 8 fps for the shipped checkpoint), upscaled
to the requested short side, with a mono soundtrack. The model's window is 2 s; longer clips are
drawn window after window, each going on from the end of the one before.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generation.engines.base import GenerationRequest, StepCallback, device_resolve
from mediakit import Clip


@dataclass(frozen=True)
class BuiltinSettings:
    path: Path  # a folder with config.json and model.safetensors
    device: str = "cpu"
    steps: int | None = None  # None: the checkpoint's own default
    guidance: float | None = None


def _weights_version(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path / "model.safetensors", "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


class BuiltinEngine:
    makes_audio = True
    supports_start_image = False
    supports_reference_images = False

    def __init__(self, settings: BuiltinSettings) -> None:
        from generation.builtin.pipeline import KinoPipeline

        self.pipeline = KinoPipeline.from_pretrained(settings.path, device=device_resolve(settings.device))
        self.name = f"builtin/{settings.path.name}"
        self.version = _weights_version(settings.path)
        self.steps = int(settings.steps or self.pipeline.sampling["steps"])
        self.guidance = settings.guidance

    def fit(self, width: int, height: int, num_frames: int) -> tuple[int, int, int]:
        """Square, a whole multiple of the native size nearest the short side; the frames asked for."""
        native = self.pipeline.config.size
        side = native * max(1, round(min(width, height) / native))
        return side, side, num_frames

    def generate(self, request: GenerationRequest, on_step: StepCallback) -> Clip:
        from PIL import Image

        if request.start_image is not None or request.reference_images:
            raise ValueError(f"{self.name} takes neither a start image nor reference images")

        out = self.pipeline(
            request.prompt,
            seed=request.seed,
            steps=self.steps,
            guidance=self.guidance,
            frames=request.num_frames,
            on_step=on_step,
        )
        side, _, _ = self.fit(request.width, request.height, request.num_frames)
        frames = out.frames
        if side != frames.shape[1]:
            frames = np.stack(
                [
                    np.asarray(Image.fromarray(f).resize((side, side), Image.Resampling.BICUBIC))
                    for f in frames
                ]
            )
        return Clip(frames=frames, fps=out.fps, audio=out.audio[None], sample_rate=out.sample_rate)
