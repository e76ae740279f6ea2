"""The procedural world the built-in model learns from: scenes, their pictures, their sound, their captions.

Everything is made in code with numpy (no downloads). A scene is a small record of discrete
attributes (colour, shape or sprite, motion, background, speed, camera pan, an optional second
object, and whether the main object runs into it);
`scene_render` turns it, plus a random draw of positions, sizes and speeds, into frames, a
waveform in sync with them and the ground truth the detectors are checked against.

World units: the frame is the unit square, y grows downwards, time is in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from generation.builtin.dsp import band_limited

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 140, 20),
    "yellow": (245, 220, 40),
    "green": (40, 190, 70),
    "blue": (40, 90, 235),
    "purple": (150, 60, 200),
    "pink": (250, 130, 190),
    "white": (250, 250, 250),
}
# Sprites: small bitmaps ("#" filled, "." empty), drawn scaled, turned and coloured like the shapes.
SPRITES: dict[str, tuple[str, ...]] = {
    "fish": (
        "........",
        "..###...",
        ".#####.#",
        "#.######",
        "########",
        ".#####.#",
        "..###...",
        "........",
    ),
    "ghost": (
        "..####..",
        ".######.",
        "##.##.##",
        "########",
        "########",
        "########",
        "########",
        "#.#..#.#",
    ),
    "cat": (
        "#......#",
        "##....##",
        "########",
        "#..##..#",
        "########",
        "###..###",
        ".######.",
        "..####..",
    ),
}
SHAPES = ("ball", "box", "triangle", "diamond", "star", "heart", *SPRITES)
MOTIONS = ("left", "right", "up", "down", "bounce", "fall", "spin", "grow", "shrink")
SLIDES = ("left", "right")  # the motions that can run into the second object
COMPANY = 0.3  # the share of scenes with a second object
KNOCKS = 0.18  # the share of sideways slides that run into it (0.6 of those with company)
SECOND_RADIUS = (0.06, 0.085)  # the second object's radius is drawn from this range
SPEEDS = ("slowly", "", "quickly")


@dataclass(frozen=True)
class Background:
    sky: tuple[int, int, int]
    floor: tuple[int, int, int]
    phrases: tuple[str, ...]
    ambience: str


BACKGROUNDS: dict[str, Background] = {
    "room": Background(
        (225, 222, 212), (50, 70, 170), ("on a blue floor", "in a room with a blue floor"), "room"
    ),
    "field": Background((150, 200, 245), (70, 140, 50), ("in a grassy field", "on green grass"), "wind"),
    "night": Background((15, 20, 50), (45, 45, 55), ("at night", "under a night sky"), "crickets"),
    "beach": Background((140, 190, 240), (225, 200, 140), ("on the beach", "on a sandy beach"), "waves"),
    "gray": Background((125, 125, 125), (85, 85, 85), ("in a gray room", "in a plain gray room"), "hum"),
}
FLOOR_Y = 0.82  # the floor's top edge
# A background repeats across the screen every quarter width (two floor tiles, one sky mark) and
# does not change down the sky or down the floor: frame.py continues scenes beyond the square by it.
BACKGROUND_REPEAT = 0.25
SAMPLE_RATE = 16000

# (colour, motion) pairs never shown in training: the held-out prompts are drawn from these only.
HELD_OUT: frozenset[tuple[str, str]] = frozenset(
    {
        ("red", "left"),
        ("orange", "bounce"),
        ("yellow", "up"),
        ("green", "right"),
        ("blue", "fall"),
        ("purple", "down"),
        ("pink", "bounce"),
        ("white", "left"),
        ("red", "grow"),
        ("blue", "shrink"),
        ("orange", "down"),
        ("purple", "right"),
    }
)

_VERBS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # motion: (-ing forms, third-person forms)
    "left": (
        ("moving left", "sliding to the left", "drifting left"),
        ("moves left", "slides to the left", "drifts left"),
    ),
    "right": (
        ("moving right", "sliding to the right", "drifting right"),
        ("moves right", "slides to the right", "drifts right"),
    ),
    "up": (("rising", "floating up", "moving up"), ("rises", "floats up", "moves up")),
    "down": (("sinking", "moving down", "drifting down"), ("sinks", "moves down", "drifts down")),
    "bounce": (("bouncing", "hopping up and down"), ("bounces", "hops up and down")),
    "fall": (("falling", "dropping to the floor"), ("falls", "drops to the floor")),
    "spin": (("spinning", "rotating"), ("spins", "rotates")),
    "grow": (("growing", "getting bigger"), ("grows", "gets bigger")),
    "shrink": (("shrinking", "getting smaller"), ("shrinks", "gets smaller")),
}


@dataclass(frozen=True)
class Scene:
    colour: str
    shape: str
    motion: str
    background: str
    speed: str = ""  # "", "slowly" or "quickly"
    pan: str = ""  # "", "left" or "right"
    second: tuple[str, str] | None = None  # (colour, shape) of a small object resting on the floor
    hits: bool = False  # the main object slides along the floor into `second` and knocks it on

    def __post_init__(self) -> None:
        if self.hits and not (self.second and self.motion in SLIDES):
            raise ValueError("only a left or right slider hits, and only a second object")


@dataclass
class Rendered:
    frames: np.ndarray  # uint8 [T, H, W, 3]
    audio: np.ndarray  # float32 [N] at SAMPLE_RATE
    contacts: list[int]  # frame indices where the main object hits the floor or the second object
    centres: np.ndarray  # [T, 2] main object's screen centre (x, y), world units
    mask: np.ndarray  # float32 [T, H, W]: how much of each pixel the objects cover


def colour_clashes(colour: str, background: str) -> bool:
    """Whether an object of this colour would be hard to see against the background."""
    rgb = np.array(COLOURS[colour], dtype=float)
    bg = BACKGROUNDS[background]
    return bool(min(np.linalg.norm(rgb - np.array(bg.sky)), np.linalg.norm(rgb - np.array(bg.floor))) < 90)


def motion_odds(weights: Mapping[str, float]) -> np.ndarray:
    """Each of MOTIONS' chance of being drawn, from relative weights (1 for a motion not named)."""
    unknown = set(weights) - set(MOTIONS)
    if unknown:
        raise ValueError(f"unknown motions {sorted(unknown)}; known: {', '.join(MOTIONS)}")
    odds = np.array([float(weights.get(m, 1.0)) for m in MOTIONS])
    if (odds < 0).any() or odds.sum() <= 0:
        raise ValueError("motion weights must be >= 0 and not all 0")
    return odds / odds.sum()


def scene_sample(
    rng: np.random.Generator,
    *,
    held_out: bool = False,
    pans: bool = True,
    motion_weights: Mapping[str, float] | None = None,
    knocks: float = KNOCKS,
) -> Scene:
    """A random scene: from the training combinations, or (held_out=True) only from HELD_OUT pairs.

    Training motions are equally likely unless `motion_weights` gives some relative weights
    (e.g. {"bounce": 3}: bounces three times as often as each other motion). `knocks` is the share
    of sideways slides that run into a second object; above the usual, slides get company more often.
    """
    if not 0 <= knocks <= 1:
        raise ValueError(f"knocks is a share of slides, 0 to 1, not {knocks}")
    odds = motion_odds(motion_weights) if motion_weights else None  # none given: the plain draw
    while True:
        if held_out:
            colour, motion = sorted(HELD_OUT)[rng.integers(len(HELD_OUT))]
        else:
            colour = list(COLOURS)[rng.integers(len(COLOURS))]
            if odds is None:
                motion = MOTIONS[rng.integers(len(MOTIONS))]
            else:
                motion = MOTIONS[rng.choice(len(MOTIONS), p=odds)]
            if (colour, motion) in HELD_OUT:
                continue
        background = list(BACKGROUNDS)[rng.integers(len(BACKGROUNDS))]
        if colour_clashes(colour, background):
            continue
        shapes = [s for s in SHAPES if not (motion == "spin" and s == "ball")]  # a spinning ball looks still
        shape = shapes[rng.integers(len(shapes))]
        speed = SPEEDS[rng.integers(len(SPEEDS))] if motion not in ("fall",) else ""
        pan = ("left", "right")[rng.integers(2)] if pans and rng.random() < 0.15 else ""
        company = max(COMPANY, min(1.0, knocks * COMPANY / KNOCKS)) if motion in SLIDES else COMPANY
        second = None
        if rng.random() < company:
            others = [c for c in COLOURS if c != colour and not colour_clashes(c, background)]
            second = (others[rng.integers(len(others))], SHAPES[rng.integers(len(SHAPES))])
        hits = second is not None and motion in SLIDES and rng.random() < knocks / company
        return Scene(colour, shape, motion, background, speed, pan, second, hits)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def caption(scene: Scene, rng: np.random.Generator) -> str:
    """One of many phrasings of the scene, with the parts in varied order."""
    ing_forms, s_forms = _VERBS[scene.motion]
    ing = ing_forms[rng.integers(len(ing_forms))]
    third = s_forms[rng.integers(len(s_forms))]
    if scene.speed:
        ing, third = f"{ing} {scene.speed}", f"{third} {scene.speed}"
    bg_phrases = BACKGROUNDS[scene.background].phrases
    where = bg_phrases[rng.integers(len(bg_phrases))]
    c, o = scene.colour, scene.shape
    extra = ""
    if scene.second and scene.hits:
        c2, o2 = scene.second
        extra = (f" until it hits a small {c2} {o2}", f", knocking a small {c2} {o2} away")[rng.integers(2)]
    elif scene.second:
        c2, o2 = scene.second
        extra = (f" next to a small {c2} {o2}", f", with a small {c2} {o2} nearby")[rng.integers(2)]
    if scene.pan:
        extra += (f" as the camera pans {scene.pan}", f", camera panning {scene.pan}")[rng.integers(2)]
    templates = (
        f"{_article(c)} {c} {o} {ing} {where}{extra}",
        f"{where[0].upper()}{where[1:]}, {_article(c)} {c} {o} {third}{extra}",
        f"the {c} {o} {third} {where}{extra}",
        f"{_article(o)} {o}, {c}, {ing} {where}{extra}",
        f"{c} {o} {ing} {where}{extra}",
    )
    return templates[rng.integers(len(templates))]


# --- motion ---------------------------------------------------------------------------------


def _speed_factor(speed: str) -> float:
    return {"slowly": 0.5, "": 1.0, "quickly": 1.5}[speed]


def _bounce_track(
    times: np.ndarray, y0: float, vy0: float, gravity: float, floor: float, restitution: float
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Heights at `times` of a body dropped under gravity onto `floor`, and its (time, speed) contacts.

    Piecewise parabolas, solved exactly: each flight ends where it meets the floor, and the body
    leaves again at `restitution` times its speed (or rests, once that speed is negligible).
    """
    ys = np.full(len(times), floor)
    contacts: list[tuple[float, float]] = []
    t0, y, vy = 0.0, y0, vy0
    end = float(times[-1]) if len(times) else 0.0
    while t0 <= end:
        flight = (-vy + math.sqrt(vy * vy + 2 * gravity * (floor - y))) / gravity  # time to reach the floor
        inside = (times >= t0) & (times < t0 + flight)
        tau = times[inside] - t0
        ys[inside] = y + vy * tau + 0.5 * gravity * tau * tau
        t0 += flight
        impact = vy + gravity * flight
        if impact < 0.5 or t0 > end:  # too slow to leave the floor again (or to be heard)
            break
        contacts.append((t0, impact))
        y, vy = floor, -impact * restitution
    return ys, contacts


@dataclass(frozen=True)
class _Track:
    """The main object at each time: centre (x, y), radius, angle; its impacts; where the second object is."""

    x: np.ndarray
    y: np.ndarray
    r: np.ndarray
    angle: np.ndarray
    impacts: list[tuple[float, float, float]]  # (time, speed, radius of the body that sets the pitch)
    second: tuple[np.ndarray, float] | None = None  # the second object's x at each time, and its radius


# How far apart two bodies' centres are when they touch, as a share of their radii summed: a shape's
# outline sits a little inside its radius (a box's sides at 0.82), so this reads as touching.
TOUCH = 0.9


def _slide_into(
    times: np.ndarray, rng: np.random.Generator, r: float, speed: float
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A body sliding right along the floor into a smaller one that it knocks on: x of both, the
    struck one's radius, and the time they touch.

    The slider stops dead and hands its speed on (a light body takes a little more); the struck
    body slides on and friction stops it half a second later. Contact comes late enough for the
    slider to have moved a clear distance, and everything stays in the frame.
    """
    duration = float(times[-1])
    r2 = float(rng.uniform(*SECOND_RADIUS))
    reach = TOUCH * (r + r2)
    v2 = 1.2 * speed
    slide = v2 * 0.25  # v2 falling to 0 over 0.5 s
    room = 1 - 0.02 - r2 - slide - reach - (r + 0.02)  # for the slider's own travel
    latest = min(0.75 * duration, room / speed)
    earliest = min(max(0.15 / speed, 0.3 * duration), latest)
    touch = float(rng.uniform(earliest, latest))
    start = float(rng.uniform(r + 0.02, max(r + 0.02, r + 0.02 + room - speed * touch)))
    x = start + speed * np.minimum(times, touch)
    tau = np.clip(times - touch, 0, 0.5)
    x2 = start + speed * touch + reach + v2 * tau - v2 * tau * tau
    return x, x2, r2, touch


def _duration(times: np.ndarray) -> float:
    return times[-1] if len(times) > 1 else 1.0


def _slide(scene: Scene, rng: np.random.Generator, times: np.ndarray, start: _Track) -> _Track:
    """Left or right along a straight line, or along the floor into the second object."""
    r = float(start.r[0])
    speed = _speed_factor(scene.speed) * rng.uniform(0.22, 0.28)
    if scene.hits:
        x, x2, r2, touch = _slide_into(times, rng, r, speed)
        y = np.full(len(times), FLOOR_Y - r)
        # A knock is pitched by the smaller, struck body.
        track = replace(start, x=x, y=y, impacts=[(touch, speed, r2)], second=(x2, r2))
    else:
        travel = speed * _duration(times)
        x = rng.uniform(r + 0.02, max(r + 0.02, 1 - r - 0.02 - travel)) + speed * times
        track = replace(start, x=x)
    if scene.motion == "left":  # the same slide, mirrored
        second = None if track.second is None else (1 - track.second[0], track.second[1])
        track = replace(track, x=1 - track.x, second=second)
    return track


def _rise_or_sink(scene: Scene, rng: np.random.Generator, times: np.ndarray, start: _Track) -> _Track:
    """Straight up or down at a steady speed, staying between the top and the floor."""
    r = float(start.r[0])
    speed = _speed_factor(scene.speed) * rng.uniform(0.18, 0.22)
    travel = speed * _duration(times)
    top, bottom = r + 0.02, FLOOR_Y - r
    begin = rng.uniform(top, max(top, bottom - travel))
    y = begin + speed * times if scene.motion == "down" else (bottom - (begin - top)) - speed * times
    return replace(start, y=y)


def _bounce(scene: Scene, rng: np.random.Generator, times: np.ndarray, start: _Track) -> _Track:
    # Dropped from near the top and slow enough for 8 fps: 7 to 9 frames from floor to floor at
    # normal speed. (A livelier bounce, 3 to 5 frames, flickered up and down between frames.)
    r = float(start.r[0])
    k = _speed_factor(scene.speed)
    y, contacts = _bounce_track(times, rng.uniform(0.12, 0.2), 0.0, 3.2 * k, FLOOR_Y - r, 0.85)
    x = start.x + rng.uniform(-0.05, 0.05) * times
    return replace(start, x=x, y=y, impacts=[(t, v, r) for t, v in contacts])


def _fall(scene: Scene, rng: np.random.Generator, times: np.ndarray, start: _Track) -> _Track:
    """Dropped after a random wait; it lands with little rebound."""
    r = float(start.r[0])
    delay = rng.uniform(0.0, 0.7)
    y0 = rng.uniform(r + 0.02, 0.3)
    moving = np.clip(times - delay, 0, None)
    y, contacts = _bounce_track(moving, y0, 0.0, 6.0, FLOOR_Y - r, 0.2)
    return replace(start, y=y, impacts=[(t + delay, v, r) for t, v in contacts])


def _spin(scene: Scene, rng: np.random.Generator, times: np.ndarray, start: _Track) -> _Track:
    turn = 1 if rng.random() < 0.5 else -1
    rate = _speed_factor(scene.speed) * rng.uniform(2.5, 4.0)  # radians a second
    return replace(start, angle=start.angle + turn * rate * times)


def _grow_or_shrink(scene: Scene, rng: np.random.Generator, times: np.ndarray, start: _Track) -> _Track:
    """From small to big or back over the clip (a slow one only part of the way)."""
    r, k, duration = float(start.r[0]), _speed_factor(scene.speed), _duration(times)
    small, big = 0.05, 0.17
    ramp = np.clip(times / duration * k, 0, 1) if k < 1 else times / duration
    radius = small + (big - small) * ramp if scene.motion == "grow" else big - (big - small) * ramp
    # On the floor it stays on the floor as it changes size, unless it would start sunk in it
    # (a shrink from larger than its drawn size): then it floats, like one that starts in the air.
    on_floor = start.y[0] == FLOOR_Y - r and radius[0] <= r
    y = FLOOR_Y - radius if on_floor else np.full(len(times), rng.uniform(0.3, 0.55))
    return replace(start, y=y, r=radius)


_MOVERS = {
    "left": _slide,
    "right": _slide,
    "up": _rise_or_sink,
    "down": _rise_or_sink,
    "bounce": _bounce,
    "fall": _fall,
    "spin": _spin,
    "grow": _grow_or_shrink,
    "shrink": _grow_or_shrink,
}


def _motion(scene: Scene, rng: np.random.Generator, times: np.ndarray) -> _Track:
    """Where the main object is at each time, when it hits something, and what it hits: a body at
    rest somewhere (on the floor or in the air), then moved by the scene's motion."""
    n = len(times)
    r = float(rng.uniform(0.10, 0.15))
    x = np.full(n, rng.uniform(0.25, 0.75))
    y = np.full(n, rng.choice([rng.uniform(0.3, 0.6), FLOOR_Y - r]))
    start = _Track(x, y, np.full(n, r), np.full(n, rng.uniform(0, 2 * math.pi)), impacts=[])
    return _MOVERS[scene.motion](scene, rng, times, start)


def _clear_of(track: _Track, shape: str, x2: float, r2: float, shape2: str) -> bool:
    """Whether a body resting on the floor at x2 never touches the main object, however either is
    turned."""
    reach, reach2 = _reach(shape) * track.r, _reach(shape2) * r2
    apart = np.abs(track.x - x2) >= reach + reach2
    above = track.y + reach <= FLOOR_Y - r2 - reach2
    return bool(np.all(apart | above))


def _second_at_rest(track: _Track, shape: str, shape2: str, rng: np.random.Generator) -> _Track:
    """The track with a second object resting on the floor where the main object never touches it.

    Only a slider that sweeps the whole floor leaves no such place: it flies over instead.
    """
    r2 = float(rng.uniform(*SECOND_RADIUS))
    for _ in range(20):
        spot = rng.choice([rng.uniform(0.1, 0.25), rng.uniform(0.75, 0.9)])
        if _clear_of(track, shape, spot, r2, shape2):
            break
    else:
        lowest = FLOOR_Y - r2 - _reach(shape2) * r2 - _reach(shape) * track.r.max()
        track = replace(track, y=np.full(len(track.y), rng.uniform(0.3, lowest)))
    return replace(track, second=(np.full(len(track.x), spot), r2))


# --- pictures -------------------------------------------------------------------------------


@lru_cache(maxsize=len(SPRITES))
def _bitmap(sprite: str) -> np.ndarray:
    """The sprite's bitmap as 0/1 floats, framed by a row and column of 0 on every side."""
    return np.pad(np.array([[c == "#" for c in row] for row in SPRITES[sprite]], np.float32), 1)


def _sprite_sdf(sprite: str, qx: np.ndarray, qy: np.ndarray, r: np.ndarray, pixel: float) -> np.ndarray:
    """About the signed distance to a sprite's outline, its bitmap spanning [-r, r] each way.

    The bitmap read with bilinear interpolation crosses 0.5 on the outline and changes by about
    1 per cell, so (0.5 - value) x cell size is a distance near the edge, which is all `_paint`
    needs for its anti-aliasing. Where cells are smaller than a pixel the pixel is the unit
    instead, so that a pixel's coverage comes out as the bitmap's value there, not a blur of
    the whole square; and the distance beyond the bitmap's square is added, so that nothing is
    drawn outside it.
    """
    bitmap = _bitmap(sprite)
    cells = bitmap.shape[0] - 2
    cell = 2 * r / cells
    u = np.clip((qx + r) / cell + 0.5, 0, cells + 1 - 1e-6)  # in the framed bitmap's cells
    v = np.clip((qy + r) / cell + 0.5, 0, cells + 1 - 1e-6)
    i, j = np.floor(v).astype(int), np.floor(u).astype(int)
    fv, fu = v - i, u - j
    value = (
        bitmap[i, j] * (1 - fv) * (1 - fu)
        + bitmap[i, j + 1] * (1 - fv) * fu
        + bitmap[i + 1, j] * fv * (1 - fu)
        + bitmap[i + 1, j + 1] * fv * fu
    )
    beyond = np.maximum(np.maximum(np.abs(qx), np.abs(qy)) - r, 0)
    return (0.5 - value) * np.maximum(cell, pixel) + beyond


def _sdf(shape: str, qx: np.ndarray, qy: np.ndarray, r: np.ndarray, pixel: float) -> np.ndarray:
    """Signed distance (world units, negative inside) of a shape of radius r centred at the origin,
    to be drawn with pixels this size."""
    if shape in SPRITES:
        return _sprite_sdf(shape, qx, qy, r, pixel)
    if shape == "ball":
        return np.hypot(qx, qy) - r
    if shape == "box":
        return np.maximum(np.abs(qx), np.abs(qy)) - 0.82 * r
    if shape == "diamond":
        return (np.abs(qx) + np.abs(qy)) / math.sqrt(2) - 0.72 * r
    if shape == "triangle":
        normals = [(-math.pi / 2 + 2 * math.pi * i / 3) for i in range(3)]
        return np.max([qx * math.cos(a) + qy * math.sin(a) for a in normals], axis=0) * 2 - r * 0.95
    if shape == "star":
        phi = np.arctan2(qy, qx)
        return np.hypot(qx, qy) - r * (0.7 + 0.3 * np.cos(5 * phi))
    if shape == "heart":
        lobes = (
            np.minimum(np.hypot(qx + 0.42 * r, qy + 0.25 * r), np.hypot(qx - 0.42 * r, qy + 0.25 * r))
            - 0.52 * r
        )
        tip = (np.abs(qx) + np.abs(qy - 0.15 * r)) / math.sqrt(2) - 0.55 * r
        return np.minimum(lobes, tip)
    raise ValueError(f"unknown shape {shape!r}")


@lru_cache(maxsize=len(SHAPES))
def _reach(shape: str) -> float:
    """How far the shape reaches from its centre at radius 1 (a box's corners: 1.16; a cat's ears: 1.34)."""
    q = np.linspace(-1.6, 1.6, 321)
    qx, qy = np.meshgrid(q, q)
    inside = _sdf(shape, qx, qy, np.ones_like(qx), pixel=0.0) < 0
    return float(np.hypot(qx, qy)[inside].max())


def _paint(
    canvas: np.ndarray,
    shape: str,
    rgb: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    r: np.ndarray,
    angle: np.ndarray,
) -> np.ndarray:
    """Draw one object into canvas [T, H, W, 3] (float), anti-aliased; returns its coverage [T, H, W]."""
    _t, h, w, _ = canvas.shape
    py = (np.arange(h) + 0.5) / h
    px = (np.arange(w) + 0.5) / w
    dx = px[None, None, :] - x[:, None, None]
    dy = py[None, :, None] - y[:, None, None]
    cos, sin = np.cos(-angle)[:, None, None], np.sin(-angle)[:, None, None]
    qx, qy = dx * cos - dy * sin, dx * sin + dy * cos
    coverage = np.clip(-_sdf(shape, qx, qy, r[:, None, None], 1 / w) * w + 0.5, 0, 1)[..., None]
    canvas *= 1 - coverage
    canvas += coverage * rgb
    return coverage[..., 0]


def _background(scene: Scene, camera_x: np.ndarray, h: int, w: int) -> np.ndarray:
    bg = BACKGROUNDS[scene.background]
    t = len(camera_x)
    py = (np.arange(h) + 0.5) / h
    world_x = (np.arange(w) + 0.5)[None, :] / w + camera_x[:, None]  # [T, W]
    sky, floor = np.array(bg.sky, dtype=np.float32), np.array(bg.floor, dtype=np.float32)
    tiles = (np.floor(world_x / (BACKGROUND_REPEAT / 2)) % 2)[:, None, :, None]  # floor tiles show a pan
    floor_px = floor * (0.9 + 0.1 * tiles)
    band = (py > 0.12) & (py < 0.18)
    marks = ((world_x % BACKGROUND_REPEAT) < 0.06)[:, None, :, None] & band[None, :, None, None]
    sky_px = np.where(marks, sky * 0.85 + 20, sky)
    is_floor = (py >= FLOOR_Y)[None, :, None, None]
    canvas = np.where(is_floor, floor_px, np.broadcast_to(sky_px, (t, h, w, 3)))
    return canvas.astype(np.float32)


# --- sound ----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _noise_source(low: float, high: float) -> np.ndarray:
    """Four seconds of unit-power noise in a band, made once; clips read random windows of it."""
    white = np.random.default_rng(int(low * 7 + high)).standard_normal(4 * SAMPLE_RATE)
    return band_limited(white, SAMPLE_RATE, low, high).astype(np.float32)


def _band_noise(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    source = _noise_source(low, high)
    start = int(rng.integers(len(source)))
    return np.roll(source, -start)[:n] * (1 if rng.random() < 0.5 else -1)


def _ambience(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    if kind == "room":
        return 0.015 * _band_noise(rng, n, 40, 400)
    if kind == "wind":
        return (
            0.03
            * _band_noise(rng, n, 300, 1500)
            * (0.6 + 0.4 * np.sin(2 * math.pi * rng.uniform(0.3, 0.8) * t))
        )
    if kind == "crickets":
        gate = (np.sin(2 * math.pi * 14 * t) > 0.6) * (
            np.sin(2 * math.pi * 1.1 * t + rng.uniform(0, 6)) > -0.2
        )
        return 0.02 * np.sin(2 * math.pi * 4200 * t) * gate
    if kind == "waves":
        return (
            0.035
            * _band_noise(rng, n, 100, 2500)
            * (0.5 + 0.5 * np.sin(2 * math.pi * 0.4 * t + rng.uniform(0, 6)))
        )
    if kind == "hum":
        return 0.02 * (np.sin(2 * math.pi * 60 * t) + 0.5 * np.sin(2 * math.pi * 120 * t))
    raise ValueError(kind)


def _impact(n: int, at: float, radius: float, speed: float, rng: np.random.Generator) -> np.ndarray:
    """A thud: a decaying low sine, pitch falling with size, loudness rising with speed, plus a click."""
    start = int(at * SAMPLE_RATE)
    length = min(n - start, int(0.25 * SAMPLE_RATE))
    out = np.zeros(n)
    if length <= 0:
        return out
    t = np.arange(length) / SAMPLE_RATE
    pitch = 330 - 1400 * radius  # radius 0.05 → 260 Hz, 0.17 → 92 Hz
    loud = float(np.clip(0.25 + 0.22 * speed, 0.2, 0.9))
    body = np.sin(2 * math.pi * pitch * t * (1 - 0.3 * t)) * np.exp(-t / 0.06)
    click = rng.standard_normal(length) * np.exp(-t / 0.004) * 0.3
    out[start : start + length] = loud * (body + click)
    return out


def _whoosh(n: int, speeds: np.ndarray, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    envelope = np.interp(np.arange(n) / SAMPLE_RATE, times, speeds)
    return 0.12 * np.clip(envelope - 0.25, 0, None) * _band_noise(rng, n, 1200, 3500)


# --- the whole scene ------------------------------------------------------------------------


def scene_render(
    scene: Scene, rng: np.random.Generator, *, frames: int = 16, size: int = 32, fps: float = 8.0
) -> Rendered:
    times = np.arange(frames) / fps
    track = _motion(scene, rng, times)
    pan_speed = rng.uniform(0.15, 0.25) * (1 if scene.pan == "right" else -1) if scene.pan else 0.0
    camera_x = pan_speed * times
    canvas = _background(scene, camera_x, size, size)
    mask = np.zeros((frames, size, size), np.float32)
    if scene.second:
        c2, shape2 = scene.second
        if track.second is None:
            track = _second_at_rest(track, scene.shape, shape2, rng)
        assert track.second is not None
        x2, r2 = track.second
        ones = np.ones(frames)
        mask += _paint(
            canvas,
            shape2,
            np.array(COLOURS[c2], np.float32),
            x2 - camera_x,
            (FLOOR_Y - r2) * ones,
            r2 * ones,
            0 * ones,
        )
    x, y, r, angle = track.x, track.y, track.r, track.angle
    rgb = np.array(COLOURS[scene.colour], np.float32) * rng.uniform(0.92, 1.0)
    screen_x = x - camera_x
    mask = np.maximum(mask, _paint(canvas, scene.shape, rgb, screen_x, y, r, angle))
    video = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)

    n = round(frames / fps * SAMPLE_RATE)
    sound = _ambience(BACKGROUNDS[scene.background].ambience, rng, n)
    for at, speed, radius in track.impacts:
        sound += _impact(n, at, radius, speed, rng)
    velocity = np.hypot(np.gradient(screen_x, times), np.gradient(y, times)) if frames > 1 else np.zeros(1)
    if scene.speed == "quickly" and scene.motion in ("left", "right", "up", "down"):
        sound += _whoosh(n, velocity, times, rng)
    audio = np.clip(sound, -1, 1).astype(np.float32)
    contact_frames = sorted({min(frames - 1, round(at * fps)) for at, _, _ in track.impacts})
    return Rendered(video, audio, contact_frames, np.stack([screen_x, y], axis=1), np.clip(mask, 0, 1))
