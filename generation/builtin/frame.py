"""The model's square frames in any aspect: the scene continued around them, not bars or a stretch.

The model draws square clips (32 x 32 for the shipped checkpoint); a vertical feed wants 9:16.
`frames_fit` keeps the model's square whole in the middle of the frame and draws the rest as the
world would have: every background of `world.py` is a sky over a floor that do not change
downwards (but for the sky's row of marks) and repeat across the screen every
`BACKGROUND_REPEAT` of its width (two floor tiles, one sky mark). So above the square goes more
of the frame's sky (its colour), below it more of its floor (its tiles, column by column), and
beside it every row goes on repeating what the frame drew in that row (sky, marks, floor tiles).
Each is read from the frame's own pixels close to its background's colours (medians, away from
anything else), so an object at the square's edge is not drawn out into the margins, the model's
pixel noise is not drawn out into stripes, and a camera pan moves the margins with the square.
The object and its motion stay inside the square, untouched. Numpy only, deterministic; about
10 ms for a 4 s clip at the model's size, before the scaling up (PIL, as before).
"""

from __future__ import annotations

import numpy as np

from generation.builtin.world import BACKGROUND_REPEAT, BACKGROUNDS, FLOOR_Y

# Objects are drawn only in colours at least 90 (RGB distance) from their background's sky and
# floor (world.colour_clashes), so a pixel within half that of one is taken for background.
BACKGROUND_DISTANCE = 45.0


def _floor_rows(size: int) -> np.ndarray:
    """[size] bool: which rows of a square frame are floor (as world._background samples them)."""
    return (np.arange(size) + 0.5) / size >= FLOOR_Y


def background_reference(frames: np.ndarray) -> np.ndarray:
    """[size, 3] float32: the world's colour of each row (sky or floor) of the background that
    the most of the clip's pixels [T, size, size, 3] are close to."""
    floor = _floor_rows(frames.shape[1])[:, None]
    pixels = frames.astype(np.float32)
    best, best_count = np.zeros((frames.shape[1], 3), np.float32), -1
    for background in BACKGROUNDS.values():
        rows = np.where(floor, np.array(background.floor, np.float32), np.array(background.sky, np.float32))
        count = int((np.linalg.norm(pixels - rows[None, :, None], axis=-1) < BACKGROUND_DISTANCE).sum())
        if count > best_count:
            best, best_count = rows, count
    return best


def _median(values: np.ndarray, near: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Per channel, the median over `axes` of the values [..., 3] where `near` [...] holds; NaN
    where it holds nowhere. A median, not a mean: the half-covered pixels at an object's rim
    (close enough to pass for background) do not pull it."""
    kept = np.where(near[..., None], values, np.nan)
    kept = np.moveaxis(kept, axes, tuple(range(-len(axes) - 1, -1)))
    kept = np.sort(kept.reshape(*kept.shape[: -len(axes) - 1], -1, 3), axis=-2)  # NaN sort last
    count = (~np.isnan(kept[..., 0])).sum(-1)[..., None, None]
    low = np.take_along_axis(kept, np.maximum(count - 1, 0) // 2, axis=-2)
    high = np.take_along_axis(kept, count // 2, axis=-2)
    return ((low + high) / 2)[..., 0, :]


def _grown(mask: np.ndarray) -> np.ndarray:
    """[T, H, W] bool grown by one pixel every way: an object's anti-aliased rim, partly the
    background's colour, lies next to pixels that are plainly the object's."""
    grown = mask.copy()
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    wide = grown.copy()
    wide[:, :, 1:] |= grown[:, :, :-1]
    wide[:, :, :-1] |= grown[:, :, 1:]
    return wide


def _or(value: np.ndarray, otherwise: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(value), otherwise, value)


def background_template(frames: np.ndarray) -> np.ndarray:
    """[T, 1 + size + 1, repeat, 3] float32: each frame's background per place within one repeat,
    for the sky beyond the top, each row, and the floor beyond the bottom.

    A row's is the median of its pixels at that place (size / repeat of them) that are close to
    the background's colour; where there are none, of the row's, else the frame's sky or floor,
    else the world's colour. Beyond the square, where the world's sky and floor do not change
    downwards, a median over all their rows (one colour for the sky, which is even above its
    marks; per place for the floor, whose tiles go on down), so that the model's pixel noise is
    not drawn out into stripes.
    """
    count, size, width, _ = frames.shape
    repeat = round(size * BACKGROUND_REPEAT)
    if width != size or size % repeat:
        raise ValueError(f"square frames whose side is a multiple of {1 / BACKGROUND_REPEAT:g} expected")
    pixels = frames.astype(np.float32)
    reference = background_reference(frames)
    near = ~_grown(np.linalg.norm(pixels - reference[None, :, None], axis=-1) >= BACKGROUND_DISTANCE)
    pixels = pixels.reshape(count, size, size // repeat, repeat, 3)  # [T, row, repeat no., place, 3]
    near = near.reshape(count, size, size // repeat, repeat)
    floor = _floor_rows(size)
    sky = _or(_median(pixels[:, ~floor], near[:, ~floor], (1, 2, 3)), reference[0])[:, None, None]
    ground = _or(_median(pixels[:, floor], near[:, floor], (1, 2, 3)), reference[-1])[:, None, None]
    region = np.where(floor[None, :, None, None], ground, sky)  # [T, size, 1, 3]
    row = _or(_median(pixels, near, (2, 3))[:, :, None], region)
    rows = _or(_median(pixels, near, (2,)), row)  # [T, size, repeat, 3]
    below = _or(_median(pixels[:, floor], near[:, floor], (1, 2))[:, None], ground)  # [T, 1, repeat, 3]
    above = np.broadcast_to(sky, below.shape)
    return np.concatenate([above, rows, below], axis=1).astype(np.float32)


def frames_extend(
    frames: np.ndarray, *, top: int = 0, bottom: int = 0, left: int = 0, right: int = 0
) -> np.ndarray:
    """Square frames uint8 [T, size, size, 3] with the scene continued by so many pixels on each side:
    uint8 [T, top + size + bottom, left + size + right, 3], the frames themselves unchanged inside."""
    size = frames.shape[1]
    if not (top or bottom or left or right):
        return frames.copy()
    template = background_template(frames)
    rows = np.clip(np.arange(-top, size + bottom), -1, size) + 1
    columns = np.arange(-left, size + right) % template.shape[2]
    canvas = np.rint(template[:, rows][:, :, columns]).clip(0, 255).astype(np.uint8)
    canvas[:, top : top + size, left : left + size] = frames
    return canvas


def _upscaled(frames: np.ndarray, scale: int) -> np.ndarray:
    from PIL import Image

    _, height, width, _ = frames.shape
    size = (width * scale, height * scale)
    return np.stack([np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BICUBIC)) for f in frames])


def frames_fit(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Square frames uint8 [T, size, size, 3] as uint8 [T, height, width, 3]: scaled up (bicubic) to
    the short side, a whole multiple of size, and the scene continued on both sides of the long one.

    The scene is continued at the model's own size first and the whole frame scaled up in one go,
    so the join is as smooth as the rest of the picture.
    """
    size = frames.shape[1]
    side = min(width, height)
    if side % size:
        raise ValueError(f"the short side {side} is not a whole multiple of the frames' {size}")
    scale = side // size
    top, left = (height - side) // 2, (width - side) // 2
    bottom, right = height - side - top, width - side - left
    # Whole pixels at the model's size that cover each margin; the scaled-up frame is cut to size.
    above, below, before, after = (-(-pixels // scale) for pixels in (top, bottom, left, right))
    canvas = frames_extend(frames, top=above, bottom=below, left=before, right=after)
    if scale > 1:
        canvas = _upscaled(canvas, scale)
    y, x = above * scale - top, before * scale - left
    return canvas[:, y : y + height, x : x + width]


def frames_unfit(frames: np.ndarray, size: int) -> np.ndarray:
    """Frames uint8 [T, H, W, 3] that `frames_fit` made (and a player may since have re-encoded or
    watermarked) back at the model's square: uint8 [T, size, size, 3].

    The square frames_fit put in the middle (the short side, centred the same way) is cut out and
    scaled down by area averaging, which undoes the bicubic scaling up but for a slight blur and
    averages the encoder's noise away; frames at another size (another engine's clip) are scaled
    the same way, whatever their short side.
    """
    from PIL import Image

    _, height, width, _ = frames.shape
    side = min(width, height)
    top, left = (height - side) // 2, (width - side) // 2
    square = frames[:, top : top + side, left : left + side]
    if side == size:
        return square.copy()
    return np.stack(
        [np.asarray(Image.fromarray(f).resize((size, size), Image.Resampling.BOX)) for f in square]
    )
