"""Kino's own landmark audio fingerprint: the sound of a clip as pairs of spectral peaks.

Chromaprint would need a system library the runtime may not depend on, so this is the classic
constellation hash in numpy: the 16 kHz mono sound's log spectrogram, its strongest local peaks,
and each peak paired with a few peaks just after it; a pair hashes (its two frequency bins and the
frames between them) to 24 bits and keeps the anchor's time. Peaks survive re-encoding, resampling
and a change of volume (they are picked relative to the clip's own loudness), so a copy shares many
hashes with the original, all at one time offset; an unrelated clip shares few, at scattered
offsets. `audio_agreement` counts the shared hashes per offset and calls the best offset a match
when enough agree.

A print is packed little-endian uint32 pairs (hash, anchor frame), sorted by hash: 8 bytes a
landmark, about 1 kB a second of busy sound. Silence, and sound too short or too plain to hold
landmarks, prints as b"".
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mediakit.sampling import AUDIO_RATE, mono_16k

N_FFT = 1024  # 64 ms windows: tones of the world's thuds and hums resolve into separate bins
HOP = 256  # 16 ms a frame: the unit of a landmark's time
FRAME_S = HOP / AUDIO_RATE
BIN_LOW, BIN_HIGH = 3, 384  # 47 Hz to 6 kHz: what survives low-bitrate AAC and phone speakers
PEAK_SPAN = (25, 11)  # a peak is the loudest in ±12 bins (±190 Hz) and ±5 frames (±80 ms)
_PEAK_KERNEL = np.ones(PEAK_SPAN, np.uint8)  # rows: bins, columns: frames
PEAK_FLOOR_DB = 60.0  # peaks quieter than the clip's loudest by more than this are noise
SILENCE_RMS = 10 ** (-60 / 20)  # below -60 dBFS a clip is silent: no print
PEAKS_PER_S = 30  # the strongest peaks of each second are kept: density bounds the print's size
FAN_OUT = 5  # each anchor pairs with the next few peaks in its target zone
PAIR_DT = (2, 63)  # frames between anchor and target (32 ms to 1 s): fits the hash's 6 bits
PAIR_DF = 96  # bins between anchor and target (1.5 kHz)
MIN_LANDMARKS = 8  # fewer pairs than this cannot vote: the clip prints as b""

# A match: this many shared hashes at one offset (±1 frame), and this share of the shorter print's
# landmarks. Calibrated by bench/provenance_audio.py (see its docstring for the measured rates).
MATCH_MIN_HITS = 12
MATCH_MIN_SHARE = 0.12
QUERY_PHASES = 4  # a query is printed on this many grids a fraction of a frame apart
COMMON_HASH_LIMIT = 64  # a hash repeated more often in a print (a steady hum) says nothing of time

_PACKED = np.dtype([("hash", "<u4"), ("time", "<u4")])


@dataclass(frozen=True)
class AudioVote:
    score: float  # the share of the shorter print's landmarks agreeing at the best offset, 0..1
    offset_s: float | None  # where the query starts in the stored clip (negative: before it)
    matched: bool


def audio_print(samples: np.ndarray, sample_rate: int, *, query: bool = False) -> bytes:
    """The packed landmarks of a sound (any rate, mono [N] or channels-first [C, N]).

    A stored clip is printed on one grid of STFT frames; a query (`query=True`) on QUERY_PHASES grids
    a fraction of a frame apart, because a copy cut anywhere lands between the stored frames, and
    peaks then move by a frame and their pairs' hashes change. Four phases on the query side alone
    keep stored prints small.
    """
    wav = mono_16k(samples, sample_rate)
    if wav.size < N_FFT or float(np.sqrt(np.mean(wav.astype(np.float64) ** 2))) < SILENCE_RMS:
        return b""
    phases = QUERY_PHASES if query else 1
    packed = np.concatenate([_landmarks(wav[phase * HOP // phases :]) for phase in range(phases)])
    if packed.size < MIN_LANDMARKS:
        return b""
    return np.unique(packed).tobytes()  # sorted by hash, then time; one copy of each landmark


def audio_unpack(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A print's hashes and anchor frames (uint32 each)."""
    packed = np.frombuffer(blob, dtype=_PACKED)
    return packed["hash"], packed["time"]


def audio_agreement(query: bytes, stored: bytes) -> AudioVote:
    """How far a query's sound agrees with a stored clip's, and at which offset.

    The score is the share of the stored landmarks, within the stretch the query overlaps at the best
    offset, that the query hit there: an excerpt of a long clip scores as high as the whole clip.
    """
    q_hash, q_time = audio_unpack(query)
    s_hash, s_time = audio_unpack(stored)
    offsets, stored_index = _shared_offsets(q_hash, q_time, s_hash, s_time)
    if offsets.size == 0:
        return AudioVote(score=0.0, offset_s=None, matched=False)
    low = int(offsets.min())
    counts = np.bincount(offsets - low)
    # A copy resampled or re-encoded can land a peak one frame early or late: ±1 frame agrees.
    smoothed = np.convolve(counts, np.ones(3, dtype=np.int64), mode="same")
    centre = int(np.argmax(smoothed))
    first = max(0, centre - 1)
    best = low + first + int(np.argmax(counts[first : centre + 2]))
    hit = np.unique(stored_index[np.abs(offsets - (low + centre)) <= 1])
    span = (s_time.astype(np.int64) >= best - 1) & (s_time.astype(np.int64) <= best + int(q_time.max()) + 1)
    score = min(1.0, hit.size / max(1, int(np.count_nonzero(span))))
    matched = hit.size >= MATCH_MIN_HITS and score >= MATCH_MIN_SHARE
    return AudioVote(score=round(score, 4), offset_s=round(best * FRAME_S, 3), matched=matched)


def _landmarks(wav: np.ndarray) -> np.ndarray:
    """The packed landmarks of one grid of frames, starting at the sound's first sample."""
    if wav.size < N_FFT:
        return np.zeros(0, _PACKED)
    times, bins = _peaks(_spectrogram(wav))
    hashes, anchors = _pairs(times, bins)
    packed = np.empty(hashes.size, _PACKED)
    packed["hash"], packed["time"] = hashes, anchors
    return packed


def _spectrogram(wav: np.ndarray) -> np.ndarray:
    """Log magnitude [bins, frames] of the kept band, in dB."""
    count = 1 + (wav.size - N_FFT) // HOP
    index = np.arange(N_FFT)[None, :] + HOP * np.arange(count)[:, None]
    frames = wav[index] * np.hanning(N_FFT).astype(np.float32)
    magnitude = np.abs(np.fft.rfft(frames, axis=1))[:, BIN_LOW:BIN_HIGH].T
    return (20 * np.log10(magnitude + 1e-6)).astype(np.float32)


def _peaks(spectrum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The constellation: local maxima well above the floor, the strongest few per second, in time order."""
    # The max over PEAK_SPAN, nothing beyond the edges (scipy's maximum_filter gives the same, 5x slower).
    local = cv2.dilate(spectrum, _PEAK_KERNEL, borderType=cv2.BORDER_CONSTANT, borderValue=-np.inf)
    is_peak = (spectrum == local) & (spectrum > spectrum.max() - PEAK_FLOOR_DB)
    bins, times = np.nonzero(is_peak)
    strength = spectrum[bins, times]
    order = np.lexsort((bins, times))
    times, bins, strength = times[order], bins[order], strength[order]
    keep = _densest_kept(times, strength)
    return times[keep], bins[keep]


def _densest_kept(times: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Keep a peak when fewer than PEAKS_PER_S peaks within half a second either side are stronger.

    A sliding window, not fixed one-second blocks: an excerpt starting anywhere keeps the same peaks.
    """
    half = round(0.5 / FRAME_S)
    low = np.searchsorted(times, times - half, side="left")
    high = np.searchsorted(times, times + half, side="right")
    keep = np.zeros(times.size, dtype=bool)
    for index in range(times.size):
        stronger = np.count_nonzero(strength[low[index] : high[index]] > strength[index])
        keep[index] = stronger < PEAKS_PER_S
    return keep


def _pairs(times: np.ndarray, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each anchor with the first FAN_OUT peaks of its target zone: (hash, anchor frame) arrays."""
    hashes: list[np.ndarray] = []
    anchors: list[np.ndarray] = []
    for step in range(1, 4 * FAN_OUT):
        dt = times[step:] - times[:-step]
        df = bins[step:].astype(np.int64) - bins[:-step]
        ok = (dt >= PAIR_DT[0]) & (dt <= PAIR_DT[1]) & (np.abs(df) <= PAIR_DF)
        index = np.flatnonzero(ok)
        hashes.append(
            (bins[index].astype(np.uint32) << 15)
            | (bins[index + step].astype(np.uint32) << 6)
            | dt[index].astype(np.uint32)
        )
        anchors.append(times[index].astype(np.uint32))
    if not hashes:
        return np.zeros(0, np.uint32), np.zeros(0, np.uint32)
    hash_all, anchor_all = np.concatenate(hashes), np.concatenate(anchors)
    return _fanned(hash_all, anchor_all)


def _fanned(hashes: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most FAN_OUT pairs per anchor, the nearest in time first (the hash's low bits are dt)."""
    order = np.lexsort((hashes & 0x3F, anchors))
    hashes, anchors = hashes[order], anchors[order]
    first = np.searchsorted(anchors, anchors, side="left")
    rank = np.arange(anchors.size) - first
    keep = rank < FAN_OUT
    return hashes[keep], anchors[keep]


def _shared_offsets(
    q_hash: np.ndarray, q_time: np.ndarray, s_hash: np.ndarray, s_time: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For every pair of equal hashes: stored time - query time (frames), and the stored landmark's index.

    A hash repeated more than COMMON_HASH_LIMIT times in the stored print (a steady hum) is left out:
    it agrees at every offset and says nothing of time.
    """
    left = np.searchsorted(s_hash, q_hash, side="left")
    counts = np.searchsorted(s_hash, q_hash, side="right") - left
    counts[counts > COMMON_HASH_LIMIT] = 0
    total = int(counts.sum())
    query_index = np.repeat(np.arange(q_hash.size), counts)
    run_start = np.repeat(np.cumsum(counts) - counts, counts)
    stored_index = np.repeat(left, counts) + np.arange(total) - run_start
    offsets = s_time[stored_index].astype(np.int64) - q_time[query_index].astype(np.int64)
    return offsets, stored_index
