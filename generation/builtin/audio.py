"""Sound at toy resolution: a waveform ↔ a small grid of log band energies (time bins x bands).

The model generates the grid, aligned with the video frames (`bins_per_frame` bins per frame);
`bands_to_waveform` turns it back into sound with a noise-excited channel vocoder, the way
early speech coders did: each band is noise filtered to that band, shaped by its energy.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from generation.builtin.dsp import band_limited

# Log energies are mapped to about [-1, 1] by this affine map (measured on the world's audio).
LOG_FLOOR = -6.0
LOG_SCALE = 3.0
LOG_OFFSET = -3.0


def _band_edges(sample_rate: int, bands: int) -> np.ndarray:
    """bands + 1 log-spaced edges from 50 Hz to Nyquist."""
    return np.geomspace(50, sample_rate / 2, bands + 1)


@lru_cache(maxsize=8)
def _band_matrix(sample_rate: int, n_fft: int, bands: int) -> torch.Tensor:
    """[bands, n_fft // 2 + 1]: which FFT bins each log-spaced band sums."""
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    edges = _band_edges(sample_rate, bands)
    matrix = np.zeros((bands, len(freqs)), dtype=np.float32)
    for band in range(bands):
        inside = (freqs >= edges[band]) & (freqs < edges[band + 1])
        if not inside.any():  # a narrow low band: take the nearest bin
            inside[np.argmin(np.abs(freqs - math.sqrt(edges[band] * edges[band + 1])))] = True
        matrix[band, inside] = 1.0 / inside.sum()
    return torch.from_numpy(matrix)


def hop_of(sample_rate: int, fps: float, bins_per_frame: int) -> int:
    return round(sample_rate / fps / bins_per_frame)


def band_energy(audio: torch.Tensor, *, sample_rate: int, hop: int, steps: int, bands: int) -> torch.Tensor:
    """[B, N] waveform → [B, steps, bands] mean power spectrum in each band (linear)."""
    n_fft = max(512, 2 * hop)
    window = torch.hann_window(n_fft, device=audio.device)
    spec = torch.stft(audio, n_fft, hop_length=hop, window=window, center=True, return_complex=True)
    power = spec.abs().pow(2)[..., :steps]  # [B, F, steps]
    return torch.einsum("kf,bft->btk", _band_matrix(sample_rate, n_fft, bands).to(audio.device), power)


def waveform_to_bands(
    audio: torch.Tensor, *, sample_rate: int, fps: float, frames: int, bins_per_frame: int, bands: int
) -> torch.Tensor:
    """[B, N] waveform → [B, frames * bins_per_frame, bands] normalised log band energies."""
    hop = hop_of(sample_rate, fps, bins_per_frame)
    energy = band_energy(audio, sample_rate=sample_rate, hop=hop, steps=frames * bins_per_frame, bands=bands)
    log = torch.log10(energy + 10**LOG_FLOOR)
    return ((log - LOG_OFFSET) / LOG_SCALE).clamp(-1.5, 1.5)


def _band_noises(n: int, sample_rate: int, bands: int, seed: int) -> np.ndarray:
    """[bands, n]: unit-power white noise filtered to each band."""
    white = np.random.default_rng(seed).standard_normal((bands, n))
    edges = _band_edges(sample_rate, bands)
    return np.stack(
        [band_limited(white[band], sample_rate, edges[band], edges[band + 1]) for band in range(bands)]
    )


@lru_cache(maxsize=8)
def _unit_energy(sample_rate: int, fps: float, bins_per_frame: int, bands: int) -> np.ndarray:
    """[bands]: the band energy that unit-power noise in that band measures (the vocoder's calibration)."""
    hop = hop_of(sample_rate, fps, bins_per_frame)
    noises = torch.from_numpy(_band_noises(64 * hop, sample_rate, bands, seed=12345)).float()
    energy = (
        band_energy(noises, sample_rate=sample_rate, hop=hop, steps=64, bands=bands).double().numpy()[:, 4:-4]
    )
    return np.array([energy[band, :, band].mean() for band in range(bands)])


def bands_to_waveform(
    grid: torch.Tensor, *, sample_rate: int, fps: float, bins_per_frame: int, seed: int = 0
) -> np.ndarray:
    """[T, bands] normalised log band energies → float32 waveform in [-1, 1] (a channel vocoder)."""
    steps, bands = grid.shape
    hop = hop_of(sample_rate, fps, bins_per_frame)
    n = steps * hop
    energy = np.clip(10 ** (grid.double().cpu().numpy() * LOG_SCALE + LOG_OFFSET) - 10**LOG_FLOOR, 0, None)
    amplitude = np.sqrt(energy / _unit_energy(sample_rate, fps, bins_per_frame, bands))  # [T, bands]
    centres = np.arange(steps) * hop  # STFT frames are centred on multiples of the hop
    envelopes = np.stack([np.interp(np.arange(n), centres, amplitude[:, band]) for band in range(bands)])
    out = (_band_noises(n, sample_rate, bands, seed) * envelopes).sum(axis=0)
    return np.clip(out, -1, 1).astype(np.float32)
