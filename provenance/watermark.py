"""The visible watermark: the Kino mark and the creator's @handle, burned into every frame of a clip
before it is encoded, moving round the frame so that no single crop removes it.

What it looks like: a rounded play-triangle, the word "Kino" beside it, and "@handle" on the line
below, in semi-opaque white (INK_ALPHA) over a dark halo and soft shadow (HALO_ALPHA), so it reads
on a white sky and on a black floor alike. It is sized from the frame's short side (TEXT_SCALE of
it, at least MIN_FONT_PX): 14 px text on the built-in model's 256 px clips (about 60 px once a
phone fills its screen with them), 40 px on 1280x720. The font is Aileron, which Pillow's wheel
carries inside it (`ImageFont.load_default(size=...)`): nothing is downloaded or read from the
system. Handles are drawn as account names are made (letters, digits, `_ . -`); anything else is
dropped, and a handle longer than HANDLE_MAX_CHARS, or wider than LINE_MAX_WIDTH of the short
side (twenty "m"s), is cut short with "..".

Where it goes: it stays SLOT_S (2 s) at each of POSITIONS in turn, from the first frame, and
starts the cycle again after the last (16 s). The order is chosen so that two positions in a
row never touch the same edge of the frame: any 3 s of a clip shows it at two positions at
least, so cropping one edge (or one corner) away leaves it in sight, and the middle positions
survive a vertical clip cut square (top and bottom away) or a landscape one (the sides away).
Each position sits MARGIN of the short side in from the edges it touches.

How it is burned: the mark and handle are drawn once per clip into a sprite, as two planes, how
much of the pixel under it stays (`keep`) and what is added (`add`), so a frame's pixels under
the sprite become `pixel * keep + add` (8-bit fixed point, the sprite's box only). A 1280x720,
10 s, 24 fps clip takes about 0.19 s on 2 cores (bench/provenance_watermark.py, a median), a
sixth of its H.264 encode; a good part of it is copying the frames into the new array the caller
gets.

How it is read back (tests and the bench, `watermark_read`): for each 2 s slot the clip shows,
the "@handle" line is drawn as it should look over mid-grey, aligned by normalised
cross-correlation (`cv2.matchTemplate`, weighted by where the mark covers the picture) on the
luma within SEARCH of where the schedule puts it, and scored as its worst letter-wide chunk
(CHUNK_EM): a whole-line score lets the shared "@" and the outline's shape carry a wrong handle
to 0.55, the worst chunk keeps it near 0 unless the letters look alike. The slot's score is the
median over a few of its frames; it reads at READ_THRESHOLD. An excerpt reads when the reader is
told where in the clip it starts (`start_s`). Measured (bench/provenance_watermark.py):
the right handle scores 0.82-0.96 on the world's frames after H.264 at crf 20-40 (0.52 at worst
on bright noise at crf 40, which the encoder smears to 8 kB for 16 s), other handles and unmarked
clips at most 0.46. Only the handle's line is matched: the Kino mark is the same on every clip, so
matching it would say nothing about whose clip it is. The reader measures legibility, not
identity: a handle a letter away from the burned one reads too when the letters look alike
(`alice_x` for `alice_k` scores 0.6-0.78, `aiice_k` 0.93), and one that begins the burned one
(`alice` in `alice_k`) reads where both lines start at the same place (the left-hand positions,
and the centred ones when the lengths differ little). Whose clip it is, the lookup says.

No invisible mark ships. `invisible-watermark` was measured on Kino's clips (the bench's
`invisible_mark_recovery`): its dwtDct keeps the 32-bit id in 1 clip of 10 after Kino's own
crf 20 encode (on the world's flat, saturated frames it misses bits even unencoded; it held on
a textured test image), dwtDctSvd keeps it through a
low-quality re-encode or a half-scale copy alone (9 clips in 10) but never through both
together (0 of 10, 60 % of bits right), and a crop or a mirror would end it anyway. The
fingerprint lookup is asked to find exactly those copies (bench/provenance.py), so a mark that
is gone in them would not help it.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# (vertical, horizontal) anchors, in the order shown; neighbours (cyclically) share no edge.
POSITIONS: tuple[tuple[str, str], ...] = (
    ("top", "left"),
    ("bottom", "right"),
    ("top", "centre"),
    ("bottom", "left"),
    ("middle", "right"),
    ("middle", "left"),
    ("top", "right"),
    ("bottom", "centre"),
)
SLOT_S = 2.0  # seconds at each position
TEXT_SCALE = 0.055  # text size as a share of the frame's short side
MIN_FONT_PX = 12  # below this the text stops reading on a phone
MARGIN = 0.04  # inset from the edges, as a share of the short side
INK_ALPHA = 0.85  # the white text and logo: semi-opaque
HALO_ALPHA = 0.55  # the dark outline and shadow under them
HANDLE_MAX_CHARS = 20  # longer handles are cut (account names allow 30)
LINE_MAX_WIDTH = 0.5  # "@handle" is cut (with "..") to this share of the short side: wide letters
READ_THRESHOLD = 0.5  # a slot's median score from which its handle reads (see the module's notes)
SEARCH = 0.015  # how far from its scheduled place the reader looks, as a share of the short side
READ_FRAMES = 5  # frames scored per slot (evenly spread over it)
CHUNK_EM = 1.0  # the width of the chunks a handle line is scored by, in font sizes (about two letters)

_HANDLE_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")
_SUPERSAMPLE = 4  # the logo is drawn this much larger and scaled down, for smooth edges


@dataclass(frozen=True)
class Sprite:
    """The mark for one handle at one frame size, and what the reader looks for in it."""

    keep: np.ndarray  # float32 [h, w]: how much of the picture under each pixel stays, 0..1
    add: np.ndarray  # float32 [h, w]: what the mark adds, 0..255 (the white ink times its alpha)
    line_at: tuple[int, int]  # (x, y) of the "@handle" line's box (halo included) in the sprite
    look: np.ndarray  # float32 [lh, lw]: that line as it looks over mid-grey
    weight: np.ndarray  # float32 [lh, lw]: how much of each of its pixels is the mark's
    chunks: tuple[tuple[int, int], ...]  # its columns [start, stop), about a letter each

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.keep.shape
        return width, height


def handle_clean(handle: str) -> str:
    """The handle as drawn: account-name characters only, cut to HANDLE_MAX_CHARS."""
    cleaned = _HANDLE_CHARS.sub("", handle.removeprefix("@"))
    if len(cleaned) > HANDLE_MAX_CHARS:
        cleaned = cleaned[: HANDLE_MAX_CHARS - 2] + ".."
    return cleaned


def _font_px(short_side: int) -> int:
    return max(MIN_FONT_PX, round(TEXT_SCALE * short_side))


def _font(size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow built without FreeType
        raise RuntimeError("the watermark needs Pillow with FreeType (its wheels have it)")
    return font


def _logo(side: int) -> Image.Image:
    """A play triangle with rounded corners (the triangle grown by a disc), as an L mask side x side."""
    big = side * _SUPERSAMPLE
    radius = big * 0.12
    corners = [(0.16, 0.08), (0.16, 0.92), (0.92, 0.5)]
    inner = [(x * big + (radius if x < 0.5 else -radius * 1.6), y * big) for x, y in corners]
    inner = [(inner[0][0], inner[0][1] + radius * 1.4), (inner[1][0], inner[1][1] - radius * 1.4), inner[2]]
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    draw.polygon(inner, fill=255)
    for start, end in zip(inner, inner[1:] + inner[:1], strict=True):
        draw.line([start, end], fill=255, width=round(2 * radius))
    for x, y in inner:
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    return mask.resize((side, side), Image.Resampling.LANCZOS)


def _fitted(handle: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """The handle cut short (with "..") so that "@handle" is at most `width` pixels wide."""
    if font.getlength("@" + handle) <= width:
        return handle
    for keep in range(len(handle) - 1, 0, -1):
        if font.getlength("@" + handle[:keep] + "..") <= width:
            return handle[:keep] + ".."
    return ""


def _ink(handle: str, font_px: int, pad: int) -> tuple[Image.Image, tuple[int, int]]:
    """The white parts (L mask): logo and "Kino" on the first line, "@handle" on the second, with
    `pad` pixels all round for the halo; and the rows where the second line's glyphs are."""
    font, title = _font(font_px), _font(round(font_px * 1.15))
    ascent, descent = font.getmetrics()
    title_ascent, title_descent = title.getmetrics()
    logo_side = round(title_ascent * 0.8)
    gap = round(font_px * 0.3)
    first = logo_side + gap + round(title.getlength("Kino"))
    handle = _fitted(handle, font, LINE_MAX_WIDTH * font_px / TEXT_SCALE)
    second = round(font.getlength("@" + handle)) if handle else 0
    line_two = pad + title_ascent + title_descent + round(font_px * 0.15)
    height = line_two + (ascent + descent if handle else 0) + pad
    mask = Image.new("L", (max(first, second) + 2 * pad, height), 0)
    mask.paste(_logo(logo_side), (pad, pad + title_ascent - logo_side))
    draw = ImageDraw.Draw(mask)
    draw.text((pad + logo_side + gap, pad + title_ascent), "Kino", font=title, fill=255, anchor="ls")
    if handle:
        draw.text((pad, line_two + ascent), "@" + handle, font=font, fill=255, anchor="ls")
    return mask, (line_two, line_two + ascent + descent)


@lru_cache(maxsize=32)
def sprite_make(short_side: int, handle: str) -> Sprite:
    """The mark for `handle` on frames whose short side is `short_side` (drawn once, then cached)."""
    font_px = _font_px(short_side)
    halo = max(1, round(font_px / 10))  # the outline's width
    pad = 3 * halo  # room for the outline and the shadow's blur and offset
    mask, (line_top, line_bottom) = _ink(handle_clean(handle), font_px, pad)
    outline = mask.filter(ImageFilter.MaxFilter(2 * halo + 1)).filter(ImageFilter.GaussianBlur(halo / 2))
    shadow = Image.new("L", mask.size, 0)
    shadow.paste(outline, (halo, halo))
    shadow = shadow.filter(ImageFilter.GaussianBlur(halo))
    ink = np.asarray(mask, np.float32) / 255 * INK_ALPHA
    dark = np.maximum(np.asarray(outline, np.float32), np.asarray(shadow, np.float32)) / 255 * HALO_ALPHA
    keep = (1 - dark) * (1 - ink)
    add = ink * 255
    rows = slice(max(0, line_top - pad), min(mask.height, line_bottom + pad))
    inked = np.flatnonzero(ink[line_top:line_bottom].max(axis=0) > 0)
    cols = slice(max(0, int(inked[0]) - pad), int(inked[-1]) + 1 + pad) if inked.size else slice(0, 0)
    weight = 1 - keep[rows]
    count = max(1, round((cols.stop - cols.start) / (CHUNK_EM * font_px)))
    edges = np.linspace(0, cols.stop - cols.start, count + 1).round().astype(int).tolist()
    return Sprite(
        keep=keep,
        add=add,
        line_at=(cols.start, rows.start),
        look=128 * keep[rows, cols] + add[rows, cols],
        weight=np.ascontiguousarray(weight[:, cols]),
        chunks=tuple(itertools.pairwise(edges)),
    )


def watermark_position(t_s: float) -> tuple[str, str]:
    """Where the mark is at `t_s` seconds into the clip: (vertical, horizontal) anchors."""
    return POSITIONS[math.floor(t_s / SLOT_S + 1e-9) % len(POSITIONS)]


def _place(anchor: tuple[str, str], sprite_size: tuple[int, int], width: int, height: int) -> tuple[int, int]:
    """The sprite's top-left corner for an anchor; it may lie partly outside a frame smaller than it."""
    w, h = sprite_size
    margin = round(MARGIN * min(width, height))
    vertical, horizontal = anchor
    x = {"left": margin, "centre": (width - w) // 2, "right": width - margin - w}[horizontal]
    y = {"top": margin, "middle": (height - h) // 2, "bottom": height - margin - h}[vertical]
    return max(0, x), max(0, y)


def watermark_box(t_s: float, width: int, height: int, handle: str) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the mark, halo included, at `t_s` seconds into a clip of width x height
    frames: what a lookup may mask out before comparing pixels."""
    sprite = sprite_make(min(width, height), handle)
    x, y = _place(watermark_position(t_s), sprite.size, width, height)
    w, h = sprite.size
    return x, y, min(w, width - x), min(h, height - y)


def _slots(count: int, fps: float, start_s: float = 0.0) -> list[tuple[int, int]]:
    """The frame ranges [start, stop) that share a position, for frames from `start_s` of the clip."""
    slot_of = np.floor((start_s + np.arange(count) / fps) / SLOT_S + 1e-9).astype(int)
    edges = [0, *(np.flatnonzero(np.diff(slot_of)) + 1).tolist(), count]
    return [(start, stop) for start, stop in itertools.pairwise(edges) if stop > start]


def watermark_burn(frames: np.ndarray, fps: float, handle: str) -> np.ndarray:
    """uint8 [T, H, W, 3] frames with the Kino mark and "@handle" burned in (a new array), moving
    to the next of POSITIONS every SLOT_S seconds."""
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    if fps <= 0:
        raise ValueError("fps must be positive")
    count, height, width, _ = frames.shape
    out = frames.copy()
    sprite = sprite_make(min(width, height), handle)
    # In 8-bit fixed point (x256): keep * 255 + add never passes 255, so nothing overflows 16 bits.
    keep = np.round(sprite.keep * 256).astype(np.uint16)[..., None]
    add = np.round(sprite.add * 256 + 128).astype(np.uint16)[..., None]
    for start, stop in _slots(count, fps):
        x, y, w, h = watermark_box(start / fps, width, height, handle)
        region = out[start:stop, y : y + h, x : x + w]
        region[:] = ((region * keep[:h, :w] + add[:h, :w]) >> 8).astype(np.uint8)
    return out


def _luma(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY).astype(np.float32)


def _correlation(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> float:
    """Weighted Pearson correlation; 0 where either side is flat."""
    total = float(weight.sum())
    if total == 0.0:
        return 0.0
    da = a - float((a * weight).sum()) / total
    db = b - float((b * weight).sum()) / total
    spread = float((weight * da * da).sum()) * float((weight * db * db).sum())
    return float((weight * da * db).sum()) / math.sqrt(spread) if spread > 1e-6 else 0.0


def _frame_score(frame: np.ndarray, at: tuple[int, int], sprite: Sprite, reach: int) -> float:
    """How well the handle line matches near (x, y) in one frame: aligned on the whole line
    (`cv2.matchTemplate`), then scored as its worst letter-wide chunk, so that a handle sharing
    most letters or only the "@" with the one burned in does not pass for it."""
    h, w = sprite.look.shape
    x, y = at
    x0, y0 = max(0, x - reach), max(0, y - reach)
    area = _luma(frame[y0 : y + h + reach, x0 : x + w + reach])
    if area.shape[0] < h or area.shape[1] < w or w == 0:
        return 0.0  # the line does not fit in this frame: nothing to read
    scores = cv2.matchTemplate(area, sprite.look, cv2.TM_CCOEFF_NORMED, mask=sprite.weight)
    scores = np.where(np.isfinite(scores), scores, -1.0)
    dy, dx = np.unravel_index(int(np.argmax(scores)), scores.shape)
    patch = area[dy : dy + h, dx : dx + w]
    return min(
        _correlation(sprite.look[:, a:b], patch[:, a:b], sprite.weight[:, a:b]) for a, b in sprite.chunks
    )


def watermark_read(frames: np.ndarray, fps: float, handle: str, *, start_s: float = 0.0) -> list[float]:
    """One score per SLOT_S slot the frames cover (the first frame `start_s` seconds into the
    marked clip: an excerpt's start): how well "@handle" matches where the schedule puts it,
    -1..1; a slot reads at READ_THRESHOLD."""
    count, height, width, _ = frames.shape
    sprite = sprite_make(min(width, height), handle)
    reach = max(2, round(SEARCH * min(height, width)))
    scores = []
    for start, stop in _slots(count, fps, start_s):
        x, y, _, _ = watermark_box(start_s + start / fps, width, height, handle)
        at = (x + sprite.line_at[0], y + sprite.line_at[1])
        picks = np.unique(np.linspace(start, stop - 1, min(READ_FRAMES, stop - start)).round().astype(int))
        scores.append(float(np.median([_frame_score(frames[i], at, sprite, reach) for i in picks])))
    return scores
