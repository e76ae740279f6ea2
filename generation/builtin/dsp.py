"""Signal helpers in numpy, shared by the world's sound effects and the vocoder."""

from __future__ import annotations

import numpy as np


def band_limited(white: np.ndarray, sample_rate: int, low: float, high: float) -> np.ndarray:
    """White noise [..., n] with every frequency outside [low, high] removed, scaled to unit power."""
    n = white.shape[-1]
    spectrum = np.fft.rfft(white, axis=-1)
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    spectrum[..., (freqs < low) | (freqs > high)] = 0
    noise = np.fft.irfft(spectrum, n, axis=-1)
    return noise / (noise.std(axis=-1, keepdims=True) + 1e-12)
