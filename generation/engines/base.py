"""The one interface every engine implements: `engine.generate(request, on_step) -> Clip`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from mediakit import Clip


class DurationUnsupported(ValueError):
    """The engine cannot make a clip this long (no window chaining) or go on from a prefix."""


class GenerationCancelled(Exception):
    """Raised from `on_step` to stop a render between two denoising steps; engines let it through."""


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    width: int  # what the caller wants; the engine rounds to what its model accepts
    height: int
    num_frames: int
    fps: float
    seed: int
    negative_prompt: str = ""
    start_image: np.ndarray | None = field(default=None, repr=False)  # uint8 [H, W, 3]
    # uint8 [H, W, 3] each: who or what must appear (cameos, one image each), for engines that take them
    reference_images: tuple[np.ndarray, ...] = field(default=(), repr=False)
    # What the cast asks of the picture (cameos' preferences, characters' personalities), for engines
    # that read text: they append it to the prompt (the member's prompt stays as typed).
    cast_notes: str = ""
    # An extension: the clip goes on from these frames (uint8 [K, H, W, 3], the source's last ones, at
    # the source's size: the engine fits them) and this sound (float32 [C, N] at prefix_sample_rate).
    # The clip made starts with them (K frames of the num_frames asked for), then carries on.
    prefix_frames: np.ndarray | None = field(default=None, repr=False)
    prefix_audio: np.ndarray | None = field(default=None, repr=False)
    prefix_sample_rate: int | None = None


def device_resolve(device: str) -> str:
    """A torch device name: as given, or for "auto" cuda when there is one, else cpu."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def out_of_memory_errors() -> tuple[type[BaseException], ...]:
    """What running out of (GPU) memory raises: the machine's trouble, not the job's."""
    import torch

    return (torch.cuda.OutOfMemoryError, MemoryError)


StepCallback = Callable[[int, int], None]  # (steps done, steps in all); may raise GenerationCancelled


class Engine(Protocol):
    name: str  # e.g. "diffusers/LTX2Pipeline"
    version: str  # identifies the weights, e.g. a hash of the model folder's configs
    makes_audio: bool
    supports_start_image: bool
    supports_reference_images: bool
    supports_prefix: bool  # can go on from given frames (extend; windows after the first)
    max_frames: int | None  # the longest clip it makes (None: any length, window after window)
    steps: int  # denoising steps per window: what progress counts

    def steps_for(self, num_frames: int) -> int:
        """Denoising steps for a whole clip of num_frames (all its windows): progress's total."""
        ...

    def fit(self, width: int, height: int, num_frames: int) -> tuple[int, int, int]:
        """The nearest size and frame count the model accepts."""
        ...

    def generate(self, request: GenerationRequest, on_step: StepCallback) -> Clip: ...
