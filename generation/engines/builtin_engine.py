"""The built-in engine: Kino's own joint audio-video model (generation/builtin), small enough for a CPU.

The model draws square clips of its native size (32 x 32 at 8 fps for the shipped checkpoint) with
a mono soundtrack; the engine delivers the asked aspect: the short side a whole multiple of the
native size, the long side in the asked proportion (even), the model's square scaled up in the
middle and its scene continued around it, more sky and floor for portrait, the sky and floor
going on left and right for landscape (`generation.builtin.frame.frames_fit`); the object and its
motion stay inside the square. The model's window is 2 s; longer clips are drawn window after
window, each going on from the end of the one before.

Extensions: the source's last frames, as delivered (frames_fit's frame, maybe watermarked and
re-encoded since), are cut back to the model's square (`frame.frames_unfit`) and their sound
resampled to the model's rate; the clip made starts with them and goes on from them, as a window
goes on from the one before.

Cameos: the model cannot draw people and is not retrained for them. Each cast cameo's reference
image (a person's face crop, a character's image) is pasted on the clip's main object at the output
resolution, following the object's track (`generation.builtin.cameo`); the cast's notes (preferences,
personalities) are not read, as the model has no words for them.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generation.builtin.cameo import cameos_composite
from generation.builtin.frame import frames_fit, frames_unfit
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
    supports_reference_images = True  # pasted on the main object (generation.builtin.cameo)
    supports_prefix = True  # an extension goes on from the source's last frames and sound
    max_frames: int | None = None  # any length, window after window

    def __init__(self, settings: BuiltinSettings) -> None:
        from generation.builtin.pipeline import KinoPipeline

        self.pipeline = KinoPipeline.from_pretrained(settings.path, device=device_resolve(settings.device))
        self.name = f"builtin/{settings.path.name}"
        self.version = _weights_version(settings.path)
        self.steps = int(settings.steps or self.pipeline.sampling["steps"])
        self.guidance = settings.guidance

    def fit(self, width: int, height: int, num_frames: int) -> tuple[int, int, int]:
        """The asked aspect: the short side the whole multiple of the native size nearest the asked
        one, the long side in the asked proportion to it, rounded to even; the frames asked for."""
        native = self.pipeline.config.size
        short = native * max(1, round(min(width, height) / native))
        long = max(short, math.floor(max(width, height) * short / max(1, min(width, height)) / 2 + 0.5) * 2)
        return (long, short, num_frames) if width > height else (short, long, num_frames)

    def steps_for(self, num_frames: int) -> int:
        """All windows' steps; the same for an extension whose prefix has `overlap_frames` frames
        or fewer (a longer one leaves fewer frames to draw, and may take a window less)."""
        from generation.builtin.pipeline import window_count

        return window_count(num_frames, self.pipeline.config.frames) * self.steps

    def generate(self, request: GenerationRequest, on_step: StepCallback) -> Clip:
        if request.start_image is not None:
            raise ValueError(f"{self.name} cannot start from an image")

        out = self.pipeline(
            request.prompt,
            seed=request.seed,
            steps=self.steps,
            guidance=self.guidance,
            frames=request.num_frames,
            on_step=on_step,
            prefix=self._prefix(request),
        )
        width, height, _ = self.fit(request.width, request.height, request.num_frames)
        frames = cameos_composite(frames_fit(out.frames, width, height), out.frames, request.reference_images)
        return Clip(frames=frames, fps=out.fps, audio=out.audio[None], sample_rate=out.sample_rate)

    def _prefix(self, request: GenerationRequest) -> tuple[np.ndarray, np.ndarray] | None:
        """An extension's prefix as the pipeline takes it: the frames at the model's size, and
        their sound as mono at the model's sample rate (silence when the source has none)."""
        if request.prefix_frames is None:
            return None
        c = self.pipeline.config
        frames = frames_unfit(request.prefix_frames, c.size)
        if request.prefix_audio is None or not request.prefix_audio.size or not request.prefix_sample_rate:
            return frames, np.zeros(round(len(frames) * c.sample_rate / c.fps), dtype=np.float32)
        return frames, _mono_at(request.prefix_audio, request.prefix_sample_rate, c.sample_rate)


def _mono_at(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """float32 [C, N] (or [N]) at `rate` as float32 mono [M] at `target`."""
    from scipy.signal import resample_poly

    wave = np.asarray(audio, dtype=np.float32)
    if wave.ndim == 2:
        wave = wave.mean(axis=0)
    if rate != target:
        common = math.gcd(int(rate), int(target))
        wave = resample_poly(wave, target // common, int(rate) // common)
    return np.asarray(wave, dtype=np.float32)
