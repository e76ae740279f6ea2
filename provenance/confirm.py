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
   worst query frame is the candidate's mismatch (provenance.lookup: a frame of bare background fits
   any clip of that background, a frame with the wrong ball does not).

The stored frames come from the video's own MP4 (feed.public.video_file_read), decoded to their
YUV planes (colour, for the pixels) and luma (for ORB): storing thumbnails would double the index
for the few candidates a lookup ever looks at.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from uuid import UUID

import av
import cv2
import numpy as np

from feed.public import video_file_read
from provenance.watermark import HANDLE_MAX_CHARS, watermark_box

COMPARE_SIDE = 128  # pixels are compared with the query's short side at most this
NEAR_S = 0.5  # stored frames this close to the matched time are tried, the best one counts
FOLLOW_S = 0.5  # the other frames try the stored frames this close to the first one's offset (a still
# stretch can fix the offset a few frames off)
BLUR_SIGMA = 1.2
CLIPPED = (3, 252)  # query pixels with a channel at or beyond these are not compared (a brightened
# copy clips there: no gain undoes it)
RESIDUAL = (28.0, 12.0, 12.0)  # Y, U, V levels (after the gain fit) from which a pixel disagrees
ORB_FEATURES = 400
ORB_RATIO = 0.8
ORB_MIN_INLIERS = 10
WATERMARK_NEAR_S = 0.25  # the mark's boxes this long before and after a frame are masked too
WATERMARK_PAD = 2  # pixels (of the halved frame) around the mark's box masked too (its halo blurs)


@dataclass(frozen=True)
class StoredFrames:
    grey: np.ndarray  # uint8 [T, H, W]: the luma plane, for ORB
    chroma: np.ndarray  # uint8 [T, H/2, W/2, 2]: U, V as decoded
    times_s: np.ndarray  # float [T]
    handle: str

    made: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.grey.shape[2]), int(self.grey.shape[1])

    @property
    def half_size(self) -> tuple[int, int]:
        return int(self.chroma.shape[2]), int(self.chroma.shape[1])

    def colour(self, index: int) -> np.ndarray:
        """float32 [H/2, W/2, 3] full-range Y (halved), U, V of frame `index`, for the pixel
        comparison; made on first use (a lookup compares a few frames of a few videos)."""
        if index not in self.made:
            half = cv2.resize(self.grey[index], self.half_size, interpolation=cv2.INTER_AREA)
            self.made[index] = _full_range(np.dstack([half, self.chroma[index]]))
        return self.made[index]


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
    """The video's frames as the decoder gives them (its YUV 4:2:0 planes: no colour conversion), or
    None when its file cannot be read."""
    data = video_file_read(video_id)
    if not data:
        return None
    lumas: list[np.ndarray] = []
    chromas: list[np.ndarray] = []
    times: list[float] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            for frame in container.decode(container.streams.video[0]):
                luma, u, v = (_plane(frame, k) for k in range(3))
                lumas.append(luma)
                chromas.append(np.stack([u, v], axis=-1))
                times.append(_frame_time(frame, len(times)))
    except (av.FFmpegError, ValueError, OSError, IndexError):
        return None
    if not lumas or frame.format.name != "yuv420p":
        return None
    return StoredFrames(np.stack(lumas), np.stack(chromas), np.array(times), handle)


def _full_range(yuv: np.ndarray) -> np.ndarray:
    """The decoder's studio-range YUV (Y 16-235, U and V 16-240) as full range, as OpenCV's RGB->YUV
    gives the query's: a plain copy then fits with gain 1 and offset 0."""
    out = yuv.astype(np.float32)
    out[..., 0] = (out[..., 0] - 16) * (255 / 219)
    out[..., 1:] = (out[..., 1:] - 128) * (255 / 224) + 128
    return out


def _frame_time(frame: av.VideoFrame, count: int) -> float:
    if frame.pts is None or frame.time_base is None:
        return count / 8.0  # a stream without timestamps: Kino encodes at 8 fps
    return float(frame.pts * frame.time_base)


def _plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    plane = frame.planes[index]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
    return rows[: plane.height, : plane.width].copy()  # the decoder reuses its buffers


def window_matrix(
    query_window: tuple[float, float, float, float],
    stored_window: tuple[float, float, float, float],
    query_size: tuple[int, int],
    stored_size: tuple[int, int],
) -> np.ndarray:
    """The affine map (stored -> query, in corner coordinates: pixel i spans [i, i + 1]) under which
    the two windows coincide."""
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
    if matrix is None or count < ORB_MIN_INLIERS:
        return prior, 0
    matrix = _centres_to_corners(matrix)
    if not _near(matrix, prior, query.shape):
        return prior, 0
    return matrix, count


def _centres_to_corners(matrix: np.ndarray) -> np.ndarray:
    """OpenCV's pixel-centre affine as a corner-coordinate one."""
    out = matrix.astype(np.float64).copy()
    out[:, 2] += 0.5 - matrix[:, :2] @ np.array([0.5, 0.5])
    return out


def _corners_to_centres(matrix: np.ndarray) -> np.ndarray:
    out = matrix.astype(np.float64).copy()
    out[:, 2] += matrix[:, :2] @ np.array([0.5, 0.5]) - 0.5
    return out


def _near(matrix: np.ndarray, prior: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether ORB's map agrees with the windows' within 15 % of scale and 8 % of the frame."""
    scale, prior_scale = np.hypot(*matrix[:, 0]), np.hypot(*prior[:, 0])
    centre = np.array([shape[1] / 2, shape[0] / 2, 1.0])
    inverse = cv2.invertAffineTransform(prior)
    moved = matrix @ np.append(inverse @ centre, 1.0) - centre[:2]
    return bool(abs(scale / prior_scale - 1) < 0.15 and np.hypot(*moved) < 0.08 * max(shape))


def _watermark_mask(stored: StoredFrames, time_s: float) -> np.ndarray:
    """1 where the pixels may be compared, 0 on the watermark's boxes (at the halved colour size): the
    box at `time_s` and WATERMARK_NEAR_S either side (the query's frame may show the mark moved on)."""
    width, height = stored.size
    ratio = stored.half_size[1] / height
    mask = np.ones(stored.half_size[::-1], np.float32)
    handle = stored.handle or "x" * HANDLE_MAX_CHARS  # unknown: the widest mark covers any
    pad = WATERMARK_PAD
    for at in {max(0.0, time_s - WATERMARK_NEAR_S), time_s, time_s + WATERMARK_NEAR_S}:
        x, y, w, h = (round(v * ratio) for v in watermark_box(at, width, height, handle))
        mask[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad] = 0
    return mask


def _disagreement(query: np.ndarray, stored: np.ndarray, mask: np.ndarray) -> tuple[float, float, float]:
    """(share of masked pixels that disagree after a gain and offset fitted per channel, the luma's
    gain, the luma's offset). Both are float32 [H, W, 3] Y, U, V; a pixel disagrees when any channel
    is off by more than its RESIDUAL."""
    keep = mask > 0.99
    count = int(keep.sum())
    if count < 64:
        return 1.0, 1.0, 0.0
    bad = np.zeros(keep.shape, bool)
    fits = []
    for channel, limit in enumerate(RESIDUAL):
        q, s = query[..., channel], stored[..., channel]
        gain, offset = _gain_fit(q[keep], s[keep])
        bad |= np.abs(q - (gain * s + offset)) > limit
        fits.append((gain, offset))
    opened = cv2.morphologyEx((bad & keep).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return float(opened.sum() / count), fits[0][0], fits[0][1]


def _gain_fit(q: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """Least squares q ~ gain * s + offset, the gain held to 0.5-2 (a brightness, not a new picture)."""
    s_mean, q_mean = float(s.mean()), float(q.mean())
    spread = float(((s - s_mean) ** 2).mean())
    gain = float(((s - s_mean) * (q - q_mean)).mean()) / spread if spread > 1.0 else 1.0
    gain = min(2.0, max(0.5, gain))
    return gain, q_mean - gain * s_mean


def frame_check(
    query_rgb: np.ndarray, stored: StoredFrames, time_s: float, placement: Placement, near_s: float = NEAR_S
) -> FrameCheck:
    """Compare one query frame with the stored frames within `near_s` of `time_s`, in colour; the
    best fit counts (of equal fits, the one nearest `time_s`: the nearest first, and the search ends
    at a perfect fit)."""
    query = np.ascontiguousarray(query_rgb[:, ::-1] if placement.mirrored else query_rgb)
    shrink = min(1.0, COMPARE_SIDE / min(query.shape[:2]))
    size = (max(1, round(query.shape[1] * shrink)), max(1, round(query.shape[0] * shrink)))
    small = cv2.resize(query, size, interpolation=cv2.INTER_AREA)
    small_yuv = cv2.GaussianBlur(
        cv2.cvtColor(small, cv2.COLOR_RGB2YUV).astype(np.float32), (0, 0), BLUR_SIGMA
    )
    clipped = (small.min(axis=2) <= CLIPPED[0]) | (small.max(axis=2) >= CLIPPED[1])
    matrix = _compare_matrix(placement.matrix, query.shape, size, stored)
    best = (2.0, time_s, 1.0, 0.0)
    near = np.flatnonzero(np.abs(stored.times_s - time_s) <= near_s + 1e-6)
    for index in sorted(near, key=lambda i: abs(stored.times_s[i] - time_s)):
        warped = cv2.warpAffine(stored.colour(int(index)), matrix, size, flags=cv2.INTER_LINEAR)
        mask = cv2.warpAffine(
            _watermark_mask(stored, float(stored.times_s[index])), matrix, size, flags=cv2.INTER_NEAREST
        )
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
        mask[clipped] = 0
        share, gain, offset = _disagreement(small_yuv, cv2.GaussianBlur(warped, (0, 0), BLUR_SIGMA), mask)
        if share < best[0] - 1e-4:
            best = (share, float(stored.times_s[index]), gain, offset)
        if best[0] == 0.0:
            break  # every pixel agrees: no farther frame can fit better (most copies stop here)
    scale = float(np.hypot(*placement.matrix[:, 0]))
    width, height = stored.size
    coverage = min(1.0, query.shape[0] * query.shape[1] / (scale * scale * width * height))
    return FrameCheck(best[0], best[1], best[2], best[3], placement.inliers, scale, coverage)


def _compare_matrix(
    matrix: np.ndarray, query_shape: tuple[int, ...], size: tuple[int, int], stored: StoredFrames
) -> np.ndarray:
    """The placement (full stored -> full query, corners) as warpAffine wants it: from the halved
    stored colour frame to the shrunk query, in pixel centres."""
    out_scale = np.diag([size[0] / query_shape[1], size[1] / query_shape[0]])
    in_scale = stored.size[1] / stored.half_size[1]
    linear = out_scale @ matrix[:, :2] * in_scale
    shift = out_scale @ matrix[:, 2]
    return _corners_to_centres(np.column_stack([linear, shift]))


def placed_check(
    query_rgb: np.ndarray,
    stored: StoredFrames,
    time_s: float,
    windows: tuple[tuple[float, float, float, float], tuple[float, float, float, float]],
    mirrored: bool,
) -> tuple[Placement, FrameCheck]:
    """Where the query frame sits on the stored frames near `time_s`, and how well it fits there.

    Two proposals: the met windows' geometry (`windows`: the query's window as hashed, the stored
    window) and ORB's refinement of it; the pixels decide (ORB's few matches on flat pictures can
    be off by a percent of scale, which the comparison sees)."""
    query = cv2.cvtColor(query_rgb, cv2.COLOR_RGB2GRAY)
    query_window, stored_window = windows
    if mirrored:
        query = np.ascontiguousarray(query[:, ::-1])
        query_window = mirrored_window(query_window)
    prior = window_matrix(query_window, stored_window, (query.shape[1], query.shape[0]), stored.size)
    windows_place = Placement(prior, mirrored, 0)
    checked = [(windows_place, frame_check(query_rgb, stored, time_s, windows_place))]
    if checked[0][1].mismatch == 0.0:
        return checked[0]  # every pixel agrees: ORB could only tie (a tie keeps the windows' placement)
    index = int(np.argmin(np.abs(stored.times_s - time_s)))
    matrix, inliers = orb_refine(query, stored.grey[index], prior)
    if inliers:
        orb_place = Placement(matrix, mirrored, inliers)
        checked.append((orb_place, frame_check(query_rgb, stored, time_s, orb_place)))
    return min(checked, key=lambda pc: pc[1].mismatch)
