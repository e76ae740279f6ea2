"""A clip's fingerprints: PDQ hashes of frames sampled at a fixed rate, each frame seen through
several windows, plus the sound's landmark print (provenance.audio).

Why windows: PDQ survives re-encoding, scaling, mild blur and brightness, but not a crop (the
picture shifts and zooms under the hash). Each sampled frame is hashed whole, through its centre
and through its four corners at `CROP` of each side, so that a copy cropped by 10-20 % still meets
a stored window nearly as it is (the lookup also hashes its query through a few centred windows).
A frame nearly identical to the last one kept (an object that hardly moves) is dropped: it would
add rows to the index and no new way to be found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import numpy as np
from django.db import transaction

from provenance import audio as audio_prints
from provenance import pdq
from provenance.models import FramePrint, VideoPrint

SAMPLE_FPS = 2.0  # frames hashed a second (the lookup's query frames come at the same rate)
CROP = 0.8  # the side of the centred and corner windows, as a share of the frame's
# Windows as (left, top, width, height) shares of the frame; a FramePrint's `window` is the index.
WINDOWS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 0.0, 1.0, 1.0),
    ((1 - CROP) / 2, (1 - CROP) / 2, CROP, CROP),
    (0.0, 0.0, CROP, CROP),
    (1 - CROP, 0.0, CROP, CROP),
    (0.0, 1 - CROP, CROP, CROP),
    (1 - CROP, 1 - CROP, CROP, CROP),
)
KEEP_BITS = 12  # a sampled frame whose full-frame hash is this close to the last kept one is dropped


@dataclass(frozen=True)
class ClipPrints:
    times_ms: np.ndarray = field(repr=False)  # int64 [F]: when each kept frame shows
    hashes: np.ndarray = field(repr=False)  # bool [F, len(WINDOWS), 256]
    audio: bytes = field(default=b"", repr=False)  # provenance.audio's print; b"" when silent

    @property
    def count(self) -> int:
        return int(self.hashes.shape[0] * self.hashes.shape[1])


def sample_indices(count: int, fps: float, rate: float = SAMPLE_FPS) -> tuple[np.ndarray, np.ndarray]:
    """(frame indices, their times in ms) one every 1/rate seconds from the first frame."""
    if count == 0:
        return np.zeros(0, int), np.zeros(0, np.int64)
    times = np.arange(0.0, count / fps, 1.0 / rate)
    indices = np.minimum(count - 1, np.round(times * fps).astype(int))
    return indices, np.round(times * 1000).astype(np.int64)


def window_crop(image: np.ndarray, window: tuple[float, float, float, float]) -> np.ndarray:
    height, width = image.shape[:2]
    left, top, w, h = window
    x0, y0 = round(left * width), round(top * height)
    return image[y0 : y0 + max(1, round(h * height)), x0 : x0 + max(1, round(w * width))]


def frame_hashes(
    image: np.ndarray, windows: tuple[tuple[float, float, float, float], ...] = WINDOWS
) -> np.ndarray:
    """bool [len(windows), 256]: the frame's PDQ hash through each window."""
    return np.stack([pdq.pdq_hash(window_crop(image, window)).bits for window in windows])


def clip_prints(
    frames: np.ndarray, fps: float, audio: np.ndarray | None, sample_rate: int | None
) -> ClipPrints:
    """The prints of a clip's final (watermarked) frames, uint8 [T, H, W, 3], and its sound
    (float32 [N] or [C, N]); what the worker stores with `prints_store`."""
    indices, times_ms = sample_indices(frames.shape[0], fps)
    kept_times: list[int] = []
    kept: list[np.ndarray] = []
    for index, time_ms in zip(indices, times_ms, strict=True):
        full = pdq.pdq_hash(frames[index]).bits
        if kept and pdq.hamming(full, kept[-1][0]) <= KEEP_BITS:
            continue
        kept.append(np.concatenate([full[None], frame_hashes(frames[index], WINDOWS[1:])]))
        kept_times.append(int(time_ms))
    hashes = np.stack(kept) if kept else np.zeros((0, len(WINDOWS), pdq.BITS), bool)
    sound = b""
    if audio is not None and sample_rate and audio.size:
        sound = audio_prints.audio_print(audio, sample_rate)
    return ClipPrints(times_ms=np.array(kept_times, np.int64), hashes=hashes, audio=sound)


def bits_text(bits: np.ndarray) -> str:
    """pgvector's text for a bit(256): bit 255 first, as pdq.PdqHash.bits_text."""
    return "".join("1" if b else "0" for b in bits[::-1])


@transaction.atomic
def prints_store(video_id: UUID, prints: ClipPrints, *, width: int, height: int, duration_ms: int) -> None:
    """Store a video's prints (replacing any it had): one VideoPrint and a FramePrint per frame and window."""
    VideoPrint.objects.filter(video_id=video_id).delete()
    VideoPrint.objects.create(
        video_id=video_id, duration_ms=duration_ms, width=width, height=height, audio=prints.audio
    )
    FramePrint.objects.bulk_create(
        FramePrint(video_id=video_id, at_ms=int(at_ms), window=window, hash=bits_text(bits))
        for at_ms, row in zip(prints.times_ms, prints.hashes, strict=True)
        for window, bits in enumerate(row)
    )
