"""From a prompt's labelled phrases to what it says of a scene: which object is the main one and which
the second, the motion, the camera, the ground. Every word the scene takes is remembered, so that
the words it does not take can be reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generation.builtin import world
from generation.enhance.spans import Span, Token
from generation.enhance.vocabulary import (
    BACKGROUND,
    CAMERA,
    COLOUR,
    COMPANY,
    GROUND,
    GROUND_COLOURS,
    HIT,
    MOTION,
    MOVE,
    SHAPE,
    SIZES,
    SPEED,
    SURFACES,
)

ATTACH_GAP = 3  # at most this many words between a colour and the shape it describes
CUE_REACH = 4  # a cue ("next to", "hits") at most this many words before the object it introduces
DIRECTIONS = ("left", "right")
WAYS = ("left", "right", "up", "down")
# Motions a second direction word does not contradict: "falls down", "bounces up and down".
ABSORBS = {"fall": {"down"}, "bounce": {"up", "down"}}


@dataclass
class Thing:
    """One object the prompt names: its shape and colour phrases (either may be missing)."""

    shape: Span | None = None
    colour: Span | None = None
    cued: bool = False  # introduced by "next to", "with", "hits"...: a second object
    again: list[Span] = field(default_factory=list)  # later mentions of the same object

    @property
    def start(self) -> int:
        return min(s.start for s in (self.shape, self.colour) if s is not None)

    def spans(self) -> list[Span]:
        return [s for s in (self.shape, self.colour, *self.again) if s is not None]


@dataclass
class Found:
    """What the prompt gives (None: not given), and the tokens that gave it."""

    colour: str | None = None
    shape: str | None = None
    motion: str | None = None
    background: str | None = None
    speed: str | None = None
    pan: str | None = None
    second: tuple[str | None, str | None] | None = None  # (colour, shape), either may be missing
    hits: bool = False
    used: set[int] = field(default_factory=set)
    place: set[int] = field(default_factory=set)  # the tokens that gave the background

    def take(self, *spans: Span, place: bool = False) -> None:
        for span in spans:
            self.used.update(range(span.start, span.end))
            if place:
                self.place.update(range(span.start, span.end))


def _of(spans: list[Span], attribute: str) -> list[Span]:
    return [s for s in spans if s.attribute == attribute]


def _place_after(colour: Span, tokens: list[Token], spans: list[Span]) -> tuple[str | None, Span] | None:
    """The place a colour describes, when a ground word or a place follows it ("navy floor", "golden
    sand"): the background that fits (None: no background has that colour), and the place's words."""
    if colour.end < len(tokens) and tokens[colour.end].text in SURFACES:
        ground = Span(
            colour.end, colour.end + 1, BACKGROUND, GROUND_COLOURS.get(colour.value, ""), colour.score
        )
        return GROUND_COLOURS.get(colour.value), ground
    for place in _of(spans, BACKGROUND):
        if place.start == colour.end:
            fits = GROUND_COLOURS.get(colour.value) == place.value or world.colour_clashes(
                colour.value, place.value
            )
            return (place.value if fits else None), place
    return None


def _grounds(tokens: list[Token], spans: list[Span], found: Found) -> list[Span]:
    """A colour right before "floor" or a place names the place, not an object: the background with
    that floor, or one the world lacks (a purple meadow: the colour stays unmapped).

    Returns the spans left for the objects."""
    kept = []
    for span in spans:
        place = _place_after(span, tokens, spans) if span.attribute == COLOUR else None
        if place is None:
            kept.append(span)
            continue
        background, where = place
        if background and found.background in (None, background):
            found.background = background
            found.take(span, where, place=True)
    return kept


def _attach(colours: list[Span], things: list[Thing]) -> list[Span]:
    """Give each shape the colour that describes it: the nearest one just before it ("a red ball"),
    else one just after it ("a ball, red"). Returns the colours no shape took."""
    left = sorted(colours, key=lambda c: c.start)
    for thing in things:
        assert thing.shape is not None
        before = [c for c in left if 0 <= thing.shape.start - c.end <= ATTACH_GAP]
        after = [c for c in left if 0 <= c.start - thing.shape.end <= ATTACH_GAP]
        if before or after:
            thing.colour = before[-1] if before else after[0]
            left.remove(thing.colour)
    return left


def _same(thing: Thing, earlier: list[Thing]) -> Thing | None:
    """An earlier object a later mention refers back to ("a red ball ... the ball bounces")."""
    if thing.cued or thing.shape is None:
        return None
    for other in earlier:
        same_colour = thing.colour is None or (other.colour and other.colour.value == thing.colour.value)
        if other.shape and other.shape.value == thing.shape.value and same_colour:
            return other
    return None


def _cued(tokens: list[Token], spans: list[Span], start: int) -> bool:
    window = range(max(0, start - CUE_REACH), start)
    hits = any(s.attribute == HIT and start - CUE_REACH <= s.end <= start for s in spans)
    return hits or any(tokens[i].text in COMPANY for i in window)


def things(tokens: list[Token], spans: list[Span]) -> list[Thing]:
    """The objects the prompt names, in order, each with its colour; mentions of one object merged."""
    found = [Thing(shape=s) for s in _of(spans, SHAPE)]
    found += [Thing(colour=c) for c in _attach(_of(spans, COLOUR), found)]
    found.sort(key=lambda t: t.start)
    merged: list[Thing] = []
    for thing in found:
        thing.cued = _cued(tokens, spans, thing.start)
        same = _same(thing, merged)
        if same is None:
            merged.append(thing)
        elif same.colour is None:
            same.colour, same.again = thing.colour, [*same.again, *thing.spans()[:1]]
        else:
            same.again += thing.spans()
    return merged


def _sizes(tokens: list[Token], thing: Thing, found: Found) -> None:
    """ "small", "little" just before the second object: the world draws it small."""
    i = thing.start - 1
    while i >= 0 and tokens[i].text in SIZES:
        found.used.add(i)
        i -= 1


def _objects(tokens: list[Token], spans: list[Span], found: Found) -> None:
    """The main object: the first one named with a shape that no cue introduces. The second: the next
    one named with a shape, or one a cue introduces ("next to a small green one"). A colour that no
    shape takes and no cue introduces ("under a blue sky") describes no object: it stays unmapped."""
    named = things(tokens, spans)
    if not named:
        return
    main = min(named, key=lambda t: (t.cued, t.shape is None, t.start))
    found.colour = main.colour.value if main.colour else None
    found.shape = main.shape.value if main.shape else None
    found.take(*main.spans())
    second = next((t for t in named if t is not main and (t.shape or t.cued)), None)
    if second is not None:
        found.second = (
            second.colour.value if second.colour else None,
            second.shape.value if second.shape else None,
        )
        found.take(*second.spans())
        _sizes(tokens, second, found)


def _pan(tokens: list[Token], spans: list[Span], found: Found) -> list[Span]:
    """A left or right in a clause with "camera" or "pans" is the camera's (the one nearest after
    those words); returns the other motions."""
    motions = _of(spans, MOTION)
    cameras = _of(spans, CAMERA)
    if not cameras:
        return motions
    clause = tokens[cameras[0].start].clause
    ways = [s for s in motions if s.value in DIRECTIONS and tokens[s.start].clause == clause]
    if ways:
        at = cameras[0].end
        way = min(ways, key=lambda s: (s.start < at, abs(s.start - at)))
        found.pan = way.value
        found.take(way, *(c for c in cameras if tokens[c.start].clause == clause))
        motions.remove(way)
    return motions


def _motion(tokens: list[Token], spans: list[Span], found: Found) -> None:
    """The motion: the surest one named; of two as sure, a bounce or a fall before a plain way ("hops to
    the left": the world cannot do both, so "to the left" stays unmapped), then the first. A verb of
    going ("glides") takes its way."""
    motions = _pan(tokens, spans, found)
    moves = _of(spans, MOVE)
    if motions:
        main = max(motions, key=lambda s: (round(s.score, 2), s.value not in WAYS, -s.start))
        found.motion = main.value
        same = {main.value, *ABSORBS.get(main.value, ())}
        found.take(main, *(s for s in motions if s.value in same))
        if main.value in WAYS:
            found.take(*moves)
    elif moves:
        found.motion = "right"  # going somewhere, no way given
        found.take(*moves)


def _hits(spans: list[Span], found: Found) -> None:
    hits = _of(spans, HIT)
    if not hits or found.second is None or found.motion not in (None, *world.SLIDES):
        return
    found.hits = True
    found.motion = found.motion or "right"
    found.take(*hits)


def _one(spans: list[Span], attribute: str, found: Found, field_name: str) -> None:
    """The first value given for a plain attribute (unless one is set already: a ground's colour);
    the words that repeat it are taken too, the others stay unmapped."""
    given = _of(spans, attribute)
    if not given:
        return
    if getattr(found, field_name) is None:
        setattr(found, field_name, given[0].value)
    found.take(*(s for s in given if s.value == getattr(found, field_name)), place=attribute == BACKGROUND)


def found_in(tokens: list[Token], spans: list[Span]) -> Found:
    found = Found()
    spans = _grounds(tokens, spans, found)
    _one(spans, BACKGROUND, found, "background")
    _objects(tokens, spans, found)
    _motion(tokens, spans, found)
    _hits(spans, found)
    _one(spans, SPEED, found, "speed")
    if found.motion == "fall" and found.speed:  # the world's falls have one speed: gravity's
        found.used.difference_update(i for s in _of(spans, SPEED) for i in range(s.start, s.end))
        found.speed = None
    _visible(found)
    found.used.update(i for i, t in enumerate(tokens) if t.text in GROUND)
    return found


def _visible(found: Found) -> None:
    """The world never shows an object the colour of its ground: where the place named would hide the
    main object ("a blue ball on the carpet": the world's carpet is blue), the object wins and the
    place's words are reported; the scene gets a place where it shows."""
    if found.colour and found.background and world.colour_clashes(found.colour, found.background):
        found.background = None
        found.used -= found.place
