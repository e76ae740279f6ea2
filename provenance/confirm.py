"""Confirming a lookup's candidate: does the query show the same pictures as the stored video?

PDQ only ranks: in Kino's own world two clips of "a red ball bouncing on a beach" share their sky,
their floor and their shapes, and hash alike. So each candidate is checked picture against picture:

1. Geometry: the windows that met (query window, stored window, mirrored or not) already say how
   the query sits on the stored frame; ORB keypoints (BFMatcher, Hamming, ratio test, RANSAC
   partial affine) refine it when enough of them agree with it.
2. Pixels: the stored frames near the matched time are warped onto the query, both blurred a
   little, the query's brightness fitted (gain and offset), the watermark's boxes masked out (a copy
   may have painted the mark out), and the share of pixels that still disagree is counted after
   an opening (edges misaligned by a pixel or blurred by re-encoding leave thin lines; a ball
   somewhere else leaves a blob). The best of the nearby stored frames counts, per query frame; the
   median over the query frames is the candidate's mismatch.

The stored frames come from the video's own MP4 (feed.public.video_file_read), decoded as grey:
storing thumbnails would double the index for the few candidates a lookup ever looks at.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from uuid import UUID

import av
import cv2
import numpy as np

from feed.public import video_file_read
from provenance.watermark import HANDLE_MAX_CHARS, watermark_box

COMPARE_SIDE = 128  # pixels are compared with the query's short side at most this
NEAR_S = 0.5  # stored frames this close to the matched time are tried, the best one counts
BLUR_SIGMA = 1.2
RESIDUAL = 30.0  # grey levels (after the gain fit) from which a pixel disagrees
ORB_FEATURES = 400
ORB_RATIO = 0.8
ORB_MIN_INLIERS = 10
WATERMARK_PAD = 3  # pixels around the mark's box also masked (its halo blurs out on re-encoding)


@dataclass(frozen=True)
class StoredFrames:
    grey: np.ndarray  # uint8 [T, H, W]
    times_s: np.ndarray  # float [T]
    handle: str

    @property
    def size(self) -> tuple[int, int]:
        return int(self.grey.shape[2]), int(self.grey.shape[1])


@dataclass(frozen=True)
class Placement:
    """How the query frame sits on a stored frame: `matrix` maps stored pixels to the query's (after
    the query is mirrored back when `mirrored`)."""

    matrix: np.ndarray  # float [2, 3]
    mirrored: bool
    inliers: int  # ORB inliers that agreed (0: the windows' geometry was used alone)


@dataclass(frozen=True)
class FrameCheck:
    mismatch: float  # share of compared pixels that disagree
    video_time_s: float  # the stored frame that fits best
    gain: float
    offset: float
    inliers: int
    scale: float  # query pixels per stored pixel
    coverage: float  # share of the stored frame the query shows


def stored_frames(video_id: UUID, handle: str) -> StoredFrames | None:
    data = video_file_read(video_id)
    if not data:
        return None
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.video[0]
            pictures: list[np.ndarray] = []
            times: list[float] = []
            for frame in container.decode(stream):
                pictures.append(frame.to_ndarray(format="gray"))
                times.append(
                    float(frame.pts * frame.time_base)
                    if frame.pts is not None and frame.time_base
                    else len(times) / 8.0
                )
    except (av.FFmpegError, ValueError, OSError, IndexError):
        return None
    if not pictures:
        return None
    return StoredFrames(np.stack(pictures), np.array(times), handle)


def window_matrix(
    query_window: tuple[float, float, float, float],
    stored_window: tuple[float, float, float, float],
    query_size: tuple[int, int],
    stored_size: tuple[int, int],
) -> np.ndarray:
    """The affine map (stored pixels -> query pixels) under which the two windows coincide."""
    (qx, qy, qw, qh), (sx, sy, sw, sh) = query_window, stored_window
    (qwidth, qheight), (swidth, sheight) = query_size, stored_size
    ax, ay = qwidth * qw / (swidth * sw), qheight * qh / (sheight * sh)
    return np.array(
        [[ax, 0.0, qwidth * (qx - sx * qw / sw)], [0.0, ay, qheight * (qy - sy * qh / sh)]], np.float64
    )


def mirrored_window(window: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    left, top, width, height = window
    return (1 - left - width, top, width, height)


def orb_refine(query: np.ndarray, stored: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, int]:
    """ORB's affine (stored -> query) when enough keypoints agree with it and it stays near the prior;
    else the prior, with 0 inliers."""
    orb = cv2.ORB_create(  # type: ignore[attr-defined]
        nfeatures=ORB_FEATURES, edgeThreshold=15, patchSize=15
    )
    kq, dq = orb.detectAndCompute(query, None)
    ks, ds = orb.detectAndCompute(stored, None)
    if dq is None or ds is None or len(kq) < ORB_MIN_INLIERS or len(ks) < ORB_MIN_INLIERS:
        return prior, 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(ds, dq, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < ORB_RATIO * m[1].distance]
    if len(good) < ORB_MIN_INLIERS:
        return prior, 0
    src = np.array([ks[m.queryIdx].pt for m in good], np.float32)
    dst = np.array([kq[m.trainIdx].pt for m in good], np.float32)
    matrix, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0)
    count = int(inliers.sum()) if inliers is not None else 0
    if matrix is None or count < ORB_MIN_INLIERS or not _near(matrix, prior, query.shape):
        return prior, 0
    return matrix, count


def _near(matrix: np.ndarray, prior: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether ORB's map agrees with the windows' within 15 % of scale and 8 % of the frame."""
    scale, prior_scale = np.hypot(*matrix[:, 0]), np.hypot(*prior[:, 0])
    centre = np.array([shape[1] / 2, shape[0] / 2, 1.0])
    inverse = cv2.invertAffineTransform(prior)
    moved = matrix @ np.append(inverse @ centre, 1.0) - centre[:2]
    return bool(abs(scale / prior_scale - 1) < 0.15 and np.hypot(*moved) < 0.08 * max(shape))


def _watermark_mask(stored: StoredFrames, time_s: float) -> np.ndarray:
    width, height = stored.size
    mask = np.ones((height, width), np.float32)
    handle = stored.handle or "x" * HANDLE_MAX_CHARS  # unknown: the widest mark covers any
    x, y, w, h = watermark_box(time_s, width, height, handle)
    mask[
        max(0, y - WATERMARK_PAD) : y + h + WATERMARK_PAD, max(0, x - WATERMARK_PAD) : x + w + WATERMARK_PAD
    ] = 0
    return mask


def _disagreement(query: np.ndarray, stored: np.ndarray, mask: np.ndarray) -> tuple[float, float, float]:
    """(share of masked pixels that disagree after the gain fit, gain, offset)."""
    keep = mask > 0.99
    if keep.sum() < 64:
        return 1.0, 1.0, 0.0
    q, s = query[keep], stored[keep]
    design = np.stack([s, np.ones_like(s)], axis=1)
    (gain, offset), *_ = np.linalg.lstsq(design, q, rcond=None)
    bad = ((np.abs(query - (gain * stored + offset)) > RESIDUAL) & keep).astype(np.uint8)
    bad = cv2.morphologyEx(bad, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return float(bad.sum() / keep.sum()), float(gain), float(offset)


def frame_check(
    query_rgb: np.ndarray, stored: StoredFrames, time_s: float, placement: Placement
) -> FrameCheck:
    """Compare one query frame with the stored frames within NEAR_S of `time_s`."""
    query = cv2.cvtColor(query_rgb, cv2.COLOR_RGB2GRAY)
    if placement.mirrored:
        query = np.ascontiguousarray(query[:, ::-1])
    shrink = min(1.0, COMPARE_SIDE / min(query.shape))
    size = (max(1, round(query.shape[1] * shrink)), max(1, round(query.shape[0] * shrink)))
    small = cv2.GaussianBlur(
        cv2.resize(query, size, interpolation=cv2.INTER_AREA).astype(np.float32), (0, 0), BLUR_SIGMA
    )
    matrix = placement.matrix * shrink
    best = (2.0, time_s, 1.0, 0.0)
    near = np.flatnonzero(np.abs(stored.times_s - time_s) <= NEAR_S + 1e-6)
    for index in near:
        warped = cv2.warpAffine(stored.grey[index].astype(np.float32), matrix, size, flags=cv2.INTER_LINEAR)
        mask = cv2.warpAffine(
            _watermark_mask(stored, float(stored.times_s[index])), matrix, size, flags=cv2.INTER_NEAREST
        )
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
        share, gain, offset = _disagreement(small, cv2.GaussianBlur(warped, (0, 0), BLUR_SIGMA), mask)
        if share < best[0]:
            best = (share, float(stored.times_s[index]), gain, offset)
    scale = float(np.hypot(*placement.matrix[:, 0]))
    width, height = stored.size
    coverage = min(1.0, query.shape[0] * query.shape[1] / (scale * scale * width * height))
    return FrameCheck(best[0], best[1], best[2], best[3], placement.inliers, scale, coverage)


def placement(
    query_rgb: np.ndarray,
    stored: StoredFrames,
    time_s: float,
    windows: tuple[tuple[float, float, float, float], tuple[float, float, float, float]],
    mirrored: bool,
) -> Placement:
    """Where the query frame sits on the stored frame at `time_s`: the met windows' geometry, refined
    by ORB. `windows` is (the query's window, as hashed, the stored window)."""
    query = cv2.cvtColor(query_rgb, cv2.COLOR_RGB2GRAY)
    query_window, stored_window = windows
    if mirrored:
        query = np.ascontiguousarray(query[:, ::-1])
        query_window = mirrored_window(query_window)
    prior = window_matrix(query_window, stored_window, (query.shape[1], query.shape[0]), stored.size)
    index = int(np.argmin(np.abs(stored.times_s - time_s)))
    matrix, inliers = orb_refine(query, stored.grey[index], prior)
    return Placement(matrix, mirrored, inliers)
