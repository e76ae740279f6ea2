"""Whether a long clip holds together where its windows join: the object's place, size and colour.

The built-in model draws 2 s at a time; a longer clip is window after window, each going on from
the last frames of the one before (`pipeline.KinoPipeline.batch`). A join that did not hold would
show as the object jumping, changing size or changing colour between the last frame of one window
and the first new frame of the next. So the measure is the object's track (its pixels of the
prompt's colour, `evaluate.colour_track`) compared frame to frame: the change across each window
boundary against the same change between neighbouring frames inside windows, where the model's
own motion (a bounce's fall, a slide) sets what is normal. Numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generation.builtin.evaluate import colour_track, object_mask


def window_boundaries(num_frames: int, native: int, given: int = 0) -> list[int]:
    """The first new frame of every window that goes on from frames before it, in a clip of
    num_frames made by `KinoPipeline` from windows of `native` frames (the first `given` of them a
    prefix: an extension): the change from frame b - 1 to frame b is a join, for each b returned."""
    from generation.builtin.pipeline import window_starts

    return [start for start in window_starts(num_frames, native, given) if 0 < start < num_frames]


def _steps(values: np.ndarray) -> np.ndarray:
    """[T - 1]: the size of the change from each frame to the next (NaN where either is unknown)."""
    change = np.diff(values, axis=0)
    return change if change.ndim == 1 else np.linalg.norm(change, axis=-1)


def object_colours(frames: np.ndarray) -> np.ndarray:
    """[T, 3]: the mean colour of each frame's object pixels (away from the background), NaN where
    there are none."""
    mask = object_mask(frames)
    count = mask.sum(axis=(1, 2))[:, None].astype(np.float64)
    total = (frames.astype(np.float64) * mask[..., None]).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


# A join is judged over its first few new frames too: guidance that only pinned the frame after it
# would move a jump a frame or two into the window, not remove it.
JOIN_REACH = 3


def _split(steps: np.ndarray, boundaries: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The steps at a join (into a window's first new frame and on to its JOIN_REACH - 1 next)
    and the ones inside windows, each without unknowns."""
    at = np.zeros(len(steps), dtype=bool)
    for b in boundaries:
        at[max(b - 1, 0) : b - 1 + JOIN_REACH] = True
    known = ~np.isnan(steps)
    return steps[at & known], steps[~at & known]


def _figures(name: str, steps: np.ndarray, boundaries: Sequence[int]) -> dict[str, float | None]:
    """max / mean at boundaries, and max / p99 / mean inside, of one kind of frame-to-frame change."""
    at, inside = _split(steps, boundaries)

    def rounded(values: np.ndarray, how: Any) -> float | None:
        return round(float(how(values)), 3) if len(values) else None

    return {
        f"boundary_{name}_max": rounded(at, np.max),
        f"boundary_{name}_mean": rounded(at, np.mean),
        f"inside_{name}_max": rounded(inside, np.max),
        f"inside_{name}_p99": rounded(inside, lambda v: np.percentile(v, 99)),
        f"inside_{name}_mean": rounded(inside, np.mean),
    }


def track_jumps(frames: np.ndarray, colour: str, boundaries: Sequence[int]) -> dict[str, Any]:
    """The object's frame-to-frame changes at window boundaries and inside windows, in pixels of the
    model's 32-pixel frame whatever the frames' size.

    `jump`: how far the centre of its `colour` pixels moved; `area`: how much their count changed,
    as a share of the larger; `colour`: how far the mean colour of all object pixels moved (RGB).
    A change is judged only between two frames that both show the object; `seen` is the share of
    frames that do, and `boundaries_judged` how many joins had the object on both sides.
    """
    track = colour_track(frames, colour)
    area = np.where(np.isnan(track.centres[:, 0]), np.nan, track.area)
    with np.errstate(invalid="ignore", divide="ignore"):
        area_steps = np.abs(np.diff(area)) / np.fmax(area[1:], area[:-1])
    jumps = _steps(track.centres) / track.px
    judged = [b for b in boundaries if 1 <= b < len(jumps) + 1 and not np.isnan(jumps[b - 1])]
    return {
        **_figures("jump", jumps, boundaries),
        **_figures("area", area_steps, boundaries),
        **_figures("colour", _steps(object_colours(frames)), boundaries),
        "seen": round(float(np.mean(~np.isnan(track.centres[:, 0]))), 3),
        "boundaries": len(boundaries),
        "boundaries_judged": len(judged),
    }
