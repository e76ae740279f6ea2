"""A fake engine for worker tests: a real `Engine` (same protocol), fast, deterministic, observable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from generation.engines.base import GenerationRequest, StepCallback
from mediakit import Clip


@dataclass
class FakeEngine:
    steps: int = 3
    name: str = "fake/engine"
    version: str = "fake-1"
    makes_audio: bool = True
    supports_start_image: bool = True
    supports_reference_images: bool = False
    supports_prefix: bool = True
    max_frames: int | None = None
    after_step: Callable[[int], None] | None = None  # runs after each step is reported (a test's "meanwhile")
    error: BaseException | None = None  # raised instead of rendering
    renders: list[GenerationRequest] = field(default_factory=list)

    def fit(self, width: int, height: int, num_frames: int) -> tuple[int, int, int]:
        return width // 2 * 2, height // 2 * 2, num_frames

    def steps_for(self, num_frames: int) -> int:
        return self.steps

    def generate(self, request: GenerationRequest, on_step: StepCallback) -> Clip:
        self.renders.append(request)
        if self.error is not None:
            raise self.error
        for step in range(1, self.steps + 1):
            on_step(step, self.steps)
            if self.after_step is not None:
                self.after_step(step)
        frames = np.zeros((request.num_frames, request.height, request.width, 3), dtype=np.uint8)
        frames[..., 0] = np.linspace(0, 255, request.num_frames, dtype=np.uint8)[:, None, None]
        seconds = request.num_frames / request.fps
        tone = np.sin(2 * np.pi * 440 * np.arange(int(16000 * seconds)) / 16000).astype(np.float32)
        return Clip(frames=frames, fps=request.fps, audio=0.3 * tone[None], sample_rate=16000)
