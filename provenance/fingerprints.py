"""A clip's fingerprints: PDQ hashes of frames sampled at a fixed rate, each frame seen through
several windows, plus the sound's landmark print (provenance.audio).

Why windows: PDQ survives re-encoding, scaling, mild blur and brightness, but not a crop (the
picture shifts and zooms under the hash). Each sampled frame is hashed whole, through its centre
and through its four corners at `CROP` of each side, so that a copy cropped by 10-20 % still meets
a stored window nearly as it is (the lookup also hashes its query through a few centred windows).
Frames are sampled at SAMPLE_FPS: a still or an excerpt of a copy starts anywhere, and its frames
fall at most half a sampling period from a stored one (a pan moves the whole picture in that time,
and PDQ does not forgive a shift). Every sampled frame is kept, even one that hashes as the last:
a small object moving over a plain picture leaves PDQ's hash as it was, and a match to the first of
a run of dropped frames would put the copy at the wrong time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import cv2
import numpy as np
from django.db import transaction

from config.blas import on_one_blas_thread
from feed.public import video_ids_existing
from provenance import audio as audio_prints
from provenance import pdq
from provenance.models import FramePrint, VideoPrint
from provenance.watermark import watermark_box

SAMPLE_FPS = 4.0  # frames hashed a second
CROP = 0.8  # the side of the centred and corner windows, as a share of the frame's
# Windows as (left, top, width, height) shares of the frame; a FramePrint's `window` is the index.
WINDOWS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 0.0, 1.0, 1.0),
    ((1 - CROP) / 2, (1 - CROP) / 2, CROP, CROP),
    (0.0, 0.0, CROP, CROP),
    (1 - CROP, 0.0, CROP, CROP),
    (0.0, 1 - CROP, CROP, CROP),
    (1 - CROP, 1 - CROP, CROP, CROP),
    (0.0, 0.0, 1.0, 1.0),  # PAINTED: the full frame, its watermark painted out
)
PAINTED = 6
WINDOWS_EVERY_MS = 1000  # the windows beyond the full frame are hashed on a sampled frame this often
PAINTED_EVERY_MS = 500  # and the painted-out full frame this often


@dataclass(frozen=True)
class ClipPrints:
    """One row per stored hash: when its frame shows, through which window, the 256 bits."""

    times_ms: np.ndarray = field(repr=False)  # int64 [N]
    windows: np.ndarray = field(repr=False)  # int [N]: WINDOWS index
    hashes: np.ndarray = field(repr=False)  # bool [N, 256]
    audio: bytes = field(default=b"", repr=False)  # provenance.audio's print; b"" when silent
    handle: str = ""  # the @handle its watermark shows ("" when unknown)

    @property
    def count(self) -> int:
        return int(self.hashes.shape[0])


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
    luma = pdq.luminance(image)
    return np.stack([pdq.luma_bits(window_crop(luma, window)) for window in windows])


@on_one_blas_thread  # PDQ's small products (config.blas)
def clip_prints(
    frames: np.ndarray,
    fps: float,
    audio: np.ndarray | None,
    sample_rate: int | None,
    *,
    handle: str = "",
) -> ClipPrints:
    """The prints of a clip's final (watermarked) frames, uint8 [T, H, W, 3], and its sound
    (float32 [N] or [C, N]); what the worker stores with `prints_store`. `handle`: the @handle
    burned in (provenance.watermark), when known.

    Every sampled frame is hashed whole; the other windows are hashed about once a second
    (WINDOWS_EVERY_MS): a cropped copy is met on fewer frames, and the index stays half as large.
    With the handle known, a sampled frame is also hashed with its mark painted out (PAINTED) twice a
    second (PAINTED_EVERY_MS): on a plain picture the mark weighs in the hash, and a copy with the
    mark painted out must still meet its frames."""
    indices, times_ms = sample_indices(frames.shape[0], fps)
    rows: list[tuple[int, int, np.ndarray]] = []
    windows_at, painted_at = -WINDOWS_EVERY_MS, -PAINTED_EVERY_MS
    for index, time_ms in zip(indices, times_ms, strict=True):
        luma = pdq.luminance(frames[index])
        at = int(time_ms)
        rows.append((at, 0, pdq.luma_bits(luma)))
        if time_ms - windows_at >= WINDOWS_EVERY_MS:
            windows_at = at
            rows += [(at, w, pdq.luma_bits(window_crop(luma, WINDOWS[w]))) for w in range(1, PAINTED)]
        if handle and time_ms - painted_at >= PAINTED_EVERY_MS:
            painted_at = at
            rows.append(
                (at, PAINTED, pdq.luma_bits(pdq.luminance(_painted_out(frames[index], at / 1000, handle))))
            )
    sound = b""
    if audio is not None and sample_rate and audio.size:
        sound = audio_prints.audio_print(audio, sample_rate)
    return ClipPrints(
        times_ms=np.array([r[0] for r in rows], np.int64),
        windows=np.array([r[1] for r in rows], int),
        hashes=np.stack([r[2] for r in rows]) if rows else np.zeros((0, pdq.BITS), bool),
        audio=sound,
        handle=handle,
    )


def _painted_out(image: np.ndarray, time_s: float, handle: str) -> np.ndarray:
    """The frame with its watermark's box filled in from around it (Navier-Stokes inpainting)."""
    height, width = image.shape[:2]
    x, y, w, h = watermark_box(time_s, width, height, handle)
    mask = np.zeros((height, width), np.uint8)
    mask[max(0, y - 1) : y + h + 1, max(0, x - 1) : x + w + 1] = 255
    return cv2.inpaint(np.ascontiguousarray(image), mask, 3, cv2.INPAINT_NS)


def bits_text(bits: np.ndarray) -> str:
    """pgvector's text for a bit(256): bit 255 first, as pdq.PdqHash.bits_text."""
    return "".join("1" if b else "0" for b in bits[::-1])


@transaction.atomic
def prints_store(video_id: UUID, prints: ClipPrints, *, width: int, height: int, duration_ms: int) -> None:
    """Store a video's prints (replacing any it had): one VideoPrint and its FramePrints."""
    VideoPrint.objects.filter(video_id=video_id).delete()
    VideoPrint.objects.create(
        video_id=video_id,
        duration_ms=duration_ms,
        width=width,
        height=height,
        handle=prints.handle,
        audio=prints.audio,
    )
    FramePrint.objects.bulk_create(
        FramePrint(video_id=video_id, at_ms=int(at_ms), window=int(window), hash=bits_text(bits))
        for at_ms, window, bits in zip(prints.times_ms, prints.windows, prints.hashes, strict=True)
    )


PRUNE_BATCH = 1000  # prints asked about per query


def prints_prune() -> int:
    """Delete the prints of videos that are gone (a deleted draft, a deleted account's videos): they
    keep a handle nobody may hold any more, and the lookup has no file left to compare with. Periodic
    (WORKER_PERIODIC), in keyset batches; the number of videos whose prints went."""
    removed, after = 0, None
    while True:
        batch = VideoPrint.objects.order_by("video_id")
        if after is not None:
            batch = batch.filter(video_id__gt=after)
        ids = list(batch.values_list("video_id", flat=True)[:PRUNE_BATCH])
        if not ids:
            return removed
        gone = set(ids) - video_ids_existing(ids)
        if gone:
            removed += VideoPrint.objects.filter(video_id__in=gone).delete()[1].get(VideoPrint._meta.label, 0)
        after = ids[-1]
