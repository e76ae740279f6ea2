"""A rendered clip (frames and sound, as an engine makes it) and the same clip encoded for phones."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Clip:
    frames: np.ndarray = field(repr=False)  # uint8 [T, H, W, 3]
    fps: float
    audio: np.ndarray | None = field(default=None, repr=False)  # float32 [C, N] in [-1, 1]
    sample_rate: int | None = None

    def __post_init__(self) -> None:
        if self.frames.dtype != np.uint8 or self.frames.ndim != 4 or self.frames.shape[-1] != 3:
            raise ValueError(
                f"frames must be uint8 [T, H, W, 3], got {self.frames.dtype} {self.frames.shape}"
            )
        if self.audio is not None and (self.audio.ndim != 2 or self.sample_rate is None):
            raise ValueError("audio must be float32 [C, N] with a sample rate")


@dataclass(frozen=True)
class EncodedClip:
    """An MP4 (H.264 yuv420p + AAC, index first) and its JPEG poster, with what players need to know."""

    mp4: bytes = field(repr=False)
    poster_jpeg: bytes = field(repr=False)
    width: int
    height: int
    duration_ms: int
    fps: float
    has_audio: bool
