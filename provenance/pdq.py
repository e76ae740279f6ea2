"""Facebook's PDQ perceptual hash, in numpy (the `pdqhash` package is a C++ sdist; Kino installs
without a compiler).

The steps are the reference implementation's (facebook/ThreatExchange, pdq/cpp/hashing/pdqhashing.cpp):
luminance (0.299 R + 0.587 G + 0.114 B), a Jarosz filter (two passes of a box filter along rows
then columns, window about dimension / 128), decimation to 64 x 64 at the cell centres, the 16 x 16
lowest non-DC coefficients of the 2-D DCT (two matrix products), and one bit per coefficient: above
the median or not. The filter and the decimation are linear and act on rows and columns apart, so
they are one [64, H] and one [64, W] matrix per picture size (and, with the DCT folded in, [16, H]
and [16, W] for a hash): two matrix products instead of four box filters, ~8 times faster. The
results agree with the box filters' to float rounding, which decides only bits whose coefficients tie
at the median (flat, symmetric pictures). The quality score is the reference's gradient sum (0-100;
below ~50 the picture is too flat to hash reliably). Bit k is coefficient (k // 16, k % 16); `hex`
and `bits_text` write bit 255 first, as PDQ's own hex does, so the hex compares with any other PDQ
tool's.

The eight dihedral variants (rotations, flips) come from one DCT by moving and negating
coefficients, as the reference does. The lookup hashes a flipped frame itself instead: the
decimation's sample grid does not mirror onto itself, and on flat, blocky pictures the variant is
40-90 bits off the flipped picture's own hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SIZE = 64  # the decimated picture
BITS = 256
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_I = np.arange(16)[:, None]
_J = np.arange(16)[None, :]
# Row i is the DCT basis of frequency i + 1 (the DC term carries no shape and is left out).
DCT = (np.sqrt(2.0 / SIZE) * np.cos(np.pi / 2 / SIZE * (_I + 1) * (2 * np.arange(SIZE)[None, :] + 1))).astype(
    np.float32
)
# The dihedral variants by name, as (transpose?, sign matrix) on the 16 x 16 coefficients; "mirror"
# is left-right (the reference's FlipY), "flip" upside down (its FlipX).
_ODD_I, _ODD_J = (_I & 1).astype(bool), (_J & 1).astype(bool)
DIHEDRAL: dict[str, tuple[bool, np.ndarray]] = {
    "original": (False, np.ones((16, 16), np.float32)),
    "rotate90": (True, np.where(_ODD_J, 1, -1).astype(np.float32) * np.ones((16, 16), np.float32)),
    "rotate180": (False, np.where((_I + _J) & 1, -1, 1).astype(np.float32)),
    "rotate270": (True, np.where(_ODD_I, 1, -1).astype(np.float32) * np.ones((16, 16), np.float32)),
    "flip": (False, np.where(_ODD_I, 1, -1).astype(np.float32) * np.ones((16, 16), np.float32)),
    "mirror": (False, np.where(_ODD_J, 1, -1).astype(np.float32) * np.ones((16, 16), np.float32)),
    "transpose": (True, np.ones((16, 16), np.float32)),
    "antitranspose": (True, np.where((_I + _J) & 1, -1, 1).astype(np.float32)),
}


@dataclass(frozen=True)
class PdqHash:
    bits: np.ndarray  # bool [256], bit k = coefficient (k // 16, k % 16) above the median
    quality: int  # 0-100

    @property
    def hex(self) -> str:
        return np.packbits(self.bits[::-1]).tobytes().hex()

    @property
    def bits_text(self) -> str:
        """As pgvector's bit(256) reads it (bit 255 first, like `hex`)."""
        return "".join("1" if b else "0" for b in self.bits[::-1])


def luminance(image: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] RGB -> float32 [H, W] luma, as the reference weighs it."""
    return image.astype(np.float32) @ LUMA


def jarosz_window(old: int, new: int = SIZE) -> int:
    return (old + 2 * new - 1) // (2 * new)


def _box_matrix(n: int, window: int) -> np.ndarray:
    """The reference's box1DFloat over `n` cells as an [n, n] matrix: a centred mean over `window`
    cells, cut short (and averaged over fewer cells) at either end."""
    half = (window + 2) // 2
    out_index = np.arange(n)
    first = np.maximum(0, out_index + half - window)
    last = np.minimum(n - 1, out_index + half - 1)
    cells = np.arange(n)[None, :]
    inside = (cells >= first[:, None]) & (cells <= last[:, None])
    return inside / (last - first + 1)[:, None].astype(np.float64)


@lru_cache(maxsize=64)
def _decimator(n: int) -> np.ndarray:
    """float32 [64, n]: the Jarosz filter's two passes along a dimension of `n` cells, then the cell
    centres, as one matrix (the passes are linear, and filtering rows commutes with filtering
    columns, so a picture's 64 x 64 is `decimator(H) @ luma @ decimator(W).T`)."""
    box = _box_matrix(n, jarosz_window(n))
    picks = ((np.arange(SIZE) + 0.5) * n / SIZE).astype(int)
    return (box @ box)[picks].astype(np.float32)


@lru_cache(maxsize=64)
def _dct_decimator(n: int) -> np.ndarray:
    """float32 [16, n]: the DCT's rows applied to the decimator (a hash without the quality skips
    the 64 x 64 picture)."""
    return (DCT.astype(np.float64) @ _decimator(n).astype(np.float64)).astype(np.float32)


def downsample(luma: np.ndarray) -> np.ndarray:
    """float32 [H, W] -> [64, 64]: the Jarosz filter (two passes each way), then the cell centres;
    two matrix products (~0.1 ms at 256 x 256, where four box filters took ~1.4 ms)."""
    rows, cols = luma.shape
    return _decimator(rows) @ luma @ _decimator(cols).T


def quality(small: np.ndarray) -> int:
    """The reference's gradient sum over the 64 x 64 picture, as an int from 0 to 100."""
    down = np.trunc((small[:-1, :] - small[1:, :]) * 100 / 255)
    across = np.trunc((small[:, :-1] - small[:, 1:]) * 100 / 255)
    return int(min(100, int(np.abs(down).sum() + np.abs(across).sum()) // 90))


def dct16(small: np.ndarray) -> np.ndarray:
    """[64, 64] -> the [16, 16] low-frequency DCT coefficients (DC left out)."""
    return DCT @ small @ DCT.T


def bits_from_dct(coefficients: np.ndarray) -> np.ndarray:
    """One bit per coefficient: above the (lower) median of the 256."""
    flat = coefficients.reshape(-1)
    median = np.partition(flat, 127)[127]
    return flat > median


def dihedral(coefficients: np.ndarray, variant: str) -> np.ndarray:
    """The DCT of the picture turned or flipped as `variant` names, from the original's DCT."""
    transpose, signs = DIHEDRAL[variant]
    moved = coefficients * signs
    return moved.T if transpose else moved


def pdq_dct(image: np.ndarray) -> tuple[np.ndarray, int]:
    """uint8 [H, W, 3] -> (the [16, 16] DCT coefficients, quality)."""
    return luma_dct(luminance(image))


def luma_dct(luma: np.ndarray) -> tuple[np.ndarray, int]:
    """float32 [H, W] luma -> (the [16, 16] DCT coefficients, quality): windows of one frame share
    its luminance."""
    small = downsample(luma)
    return dct16(small), quality(small)


def luma_bits(luma: np.ndarray) -> np.ndarray:
    """float32 [H, W] luma -> its 256 bits (no quality): a window of a frame, or the frame flipped."""
    rows, cols = luma.shape
    return bits_from_dct(_dct_decimator(rows) @ luma @ _dct_decimator(cols).T)


def pdq_hash(image: np.ndarray) -> PdqHash:
    coefficients, score = pdq_dct(image)
    return PdqHash(bits_from_dct(coefficients), score)


def hamming(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.count_nonzero(a != b))
