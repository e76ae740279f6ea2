"""Cameos in the built-in engine: each cast cameo's image rides on the clip's main object.

The built-in model cannot draw a person (it learned coloured shapes in a procedural world, and is
not retrained for cameos). So the engine does what a compositor would: after the model has drawn
the clip, it finds the main object in each of the model's own frames (the largest patch of pixels
far from the background's sky and floor, `frame.background_reference`), smooths that track over
time, and pastes the cameo's reference image (a person's frontal face crop, a character's image)
over it in the OUTPUT frames, at the output resolution: CAMEO_SIDE of the frame's short side, so
that the face is large enough for moderation's screening to find again at every quality (the face
fills about 45 % of a registration's crop: 0.27 of the short side, well above MODERATION_CLIP_MIN_FACE).
The paste is an ellipse with a soft rim, centred on the object and kept inside the frame; a second
cameo goes beside the first, along the frame's long side. Where the model drew no object, the image
stays where it last was (the middle of the square before the object is first seen).

Numpy and PIL only (the package stands alone), deterministic; a few ms per clip.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from generation.builtin.frame import BACKGROUND_DISTANCE, background_reference

# The pasted image's side, as a share of the output's short side.
CAMEO_SIDE = 0.6
# The soft rim of the paste, as a share of its radius.
FEATHER = 0.12
# The track is smoothed over this many frames either side (the model's frames wobble by a pixel).
SMOOTH_FRAMES = 1


def object_track(frames: np.ndarray) -> np.ndarray:
    """float [T, 2]: the main object's centre (x, y) in pixels of the model's square frames
    uint8 [T, size, size, 3]; NaN where none was seen."""
    reference = background_reference(frames)
    far = np.linalg.norm(frames.astype(np.float32) - reference[None, :, None], axis=-1) >= BACKGROUND_DISTANCE
    centres = np.full((len(frames), 2), np.nan)
    for index, mask in enumerate(far):
        patch = _largest_patch(mask)
        if len(patch) >= 2:  # a lone pixel is the model's noise
            ys, xs = np.array(patch, dtype=np.float64).T
            centres[index] = (xs.mean() + 0.5, ys.mean() + 0.5)
    return centres


def _largest_patch(mask: np.ndarray) -> list[tuple[int, int]]:
    """The (y, x) of the largest 4-connected patch of True in a small mask (the model's 32 x 32)."""
    seen = np.zeros_like(mask, dtype=bool)
    best: list[tuple[int, int]] = []
    height, width = mask.shape
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        seen[start] = True
        patch, todo = [], [(int(start[0]), int(start[1]))]
        while todo:
            y, x = todo.pop()
            patch.append((y, x))
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    todo.append((ny, nx))
        if len(patch) > len(best):
            best = patch
    return best


def _filled(track: np.ndarray, middle: float) -> np.ndarray:
    """NaNs filled: between sightings interpolated, before the first the first, after the last the
    last; nothing seen at all: the middle of the square. Then smoothed."""
    out = track.copy()
    index = np.arange(len(track))
    for axis in range(2):
        seen = ~np.isnan(track[:, axis])
        if not seen.any():
            out[:, axis] = middle
            continue
        out[:, axis] = np.interp(index, index[seen], track[seen, axis])
    if SMOOTH_FRAMES and len(out) > 1:
        padded = np.pad(out, ((SMOOTH_FRAMES, SMOOTH_FRAMES), (0, 0)), mode="edge")
        kernel = np.ones(2 * SMOOTH_FRAMES + 1) / (2 * SMOOTH_FRAMES + 1)
        out = np.stack([np.convolve(padded[:, axis], kernel, mode="valid") for axis in range(2)], axis=1)
    return out


def _ellipse(side: int) -> np.ndarray:
    """float32 [side, side] in [0, 1]: an inscribed disc with a soft rim."""
    grid = (np.arange(side) + 0.5) / side * 2 - 1
    radius = np.hypot(grid[None, :], grid[:, None])
    return np.clip((1 - radius) / FEATHER, 0, 1).astype(np.float32)


def _resized(image: np.ndarray, side: int) -> np.ndarray:
    picture = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).convert("RGB")
    return np.asarray(picture.resize((side, side), Image.Resampling.LANCZOS), dtype=np.float32)


def cameos_composite(frames: np.ndarray, native: np.ndarray, images: tuple[np.ndarray, ...]) -> np.ndarray:
    """The output frames uint8 [T, H, W, 3] (the model's square `native` [T, size, size, 3] scaled up
    in the middle, as `frame.frames_fit` lays it out) with each image of `images` pasted on the
    main object, following its track."""
    if not images:
        return frames
    count, height, width, _ = frames.shape
    size = native.shape[1]
    short = min(width, height)
    scale = short / size
    top, left = (height - short) // 2, (width - short) // 2
    track = _filled(object_track(native), size / 2)
    centres = np.stack([left + track[:, 0] * scale, top + track[:, 1] * scale], axis=1)
    side = max(2, round(CAMEO_SIDE * short))
    alpha = _ellipse(side)[..., None]
    # Several cameos side by side along the long side, the group centred on the object.
    along = 0 if width >= height else 1
    offsets = (np.arange(len(images)) - (len(images) - 1) / 2) * side
    out = frames.copy()  # uint8: only each pasted region is worked in float (a minute is 481 frames)
    for image, offset in zip(images, offsets, strict=True):
        picture = _resized(image, side)
        for index in range(count):
            centre = centres[index].copy()
            centre[along] += offset
            x = int(np.clip(round(centre[0] - side / 2), 0, max(0, width - side)))
            y = int(np.clip(round(centre[1] - side / 2), 0, max(0, height - side)))
            w, h = min(side, width - x), min(side, height - y)
            region = out[index, y : y + h, x : x + w]
            mask = alpha[:h, :w]
            blend = region * (1 - mask) + picture[:h, :w] * mask
            region[:] = np.rint(blend).clip(0, 255).astype(np.uint8)
    return out
