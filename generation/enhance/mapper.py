"""The built-in model's enhancer: a prompt in any words -> the scene it describes in the world's terms
-> that scene's caption in the world's own wording, the form the model was trained on.

What the prompt does not say is filled in with defaults that stay visible (no object the colour of
its background); what the world cannot show is reported word by word in `unmapped`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from generation.builtin import world
from generation.enhance.base import Enhanced
from generation.enhance.scene import Found, found_in
from generation.enhance.spans import label, tokenize

ENHANCER = "builtin-world/1"
FIELDS = ("colour", "shape", "motion", "background", "speed", "pan")  # what a prompt may leave out


class _FirstChoice:
    """Stands in for world.caption's random generator and always picks the first option: one fixed
    wording per scene, from the same phrasings the model was trained on."""

    def integers(self, high: int) -> int:
        return 0


def caption_for(scene: world.Scene) -> str:
    return world.caption(scene, cast(np.random.Generator, _FirstChoice()))


def _visible(colour: str, background: str) -> bool:
    return not world.colour_clashes(colour, background)


def _colour_default(background: str, avoid: set[str]) -> str:
    free = [c for c in world.COLOURS if c not in avoid and _visible(c, background)]
    return (free or [c for c in world.COLOURS if _visible(c, background)])[0]


# The places a scene gets when its prompt names none, in order: the first where its objects show.
PLACES = ("room", "field", "beach", "gray", "night")


def _background_default(colours: list[str]) -> str:
    return next((b for b in PLACES if all(_visible(c, b) for c in colours)), PLACES[0])


def scene_complete(found: Found, avoid: Sequence[str] = ()) -> tuple[world.Scene, list[str]]:
    """The scene with what the prompt left out filled in (new objects' colours avoid `avoid`, the
    colours other objects already have), and the names of the attributes filled in."""
    given_colours = [c for c in (found.colour, found.second and found.second[0]) if c]
    background = found.background or _background_default(given_colours)
    colour = found.colour or _colour_default(background, {*avoid, *given_colours})
    motion = found.motion or ("right" if found.hits else "bounce")
    shape = found.shape or ("box" if motion == "spin" else "ball")  # a spinning ball looks still
    second = None
    if found.second is not None:
        c2, o2 = found.second
        second = (c2 or _colour_default(background, {*avoid, colour}), o2 or "box")
    scene = world.Scene(
        colour, shape, motion, background, found.speed or "", found.pan or "", second, found.hits
    )
    defaulted = [name for name in FIELDS if getattr(found, name) is None]
    if found.second is not None:
        defaulted += [
            name
            for name, given in zip(("second_colour", "second_shape"), found.second, strict=True)
            if given is None
        ]
    return scene, defaulted


def prompt_found(prompt: str) -> tuple[Found, tuple[str, ...]]:
    """What the prompt says of the scene, and its content words the scene did not take."""
    tokens = tokenize(prompt)
    found = found_in(tokens, label(tokens))
    unmapped = tuple(t.text for i, t in enumerate(tokens) if t.content and i not in found.used)
    return found, unmapped


def scene_dict(scene: world.Scene, defaulted: list[str], carried: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "colour": scene.colour,
        "shape": scene.shape,
        "motion": scene.motion,
        "background": scene.background,
        "speed": scene.speed,
        "pan": scene.pan,
        "second": list(scene.second) if scene.second else None,
        "hits": scene.hits,
        "defaulted": defaulted,
        "carried": list(carried),
    }


def world_enhance(prompt: str) -> Enhanced:
    found, unmapped = prompt_found(prompt)
    scene, defaulted = scene_complete(found)
    return Enhanced(caption_for(scene), unmapped, ENHANCER, scene_dict(scene, defaulted))


def _carry(
    found: Found, shapes: dict[str, str], colours: dict[str, str], last: world.Scene | None
) -> list[str]:
    """Fill what a shot leaves out from the shots before it: an object named again by its shape or its
    colour keeps the other; a shot naming no object goes on with the last one; the place stays, unless
    it would hide this shot's objects."""
    carried = []
    if found.shape and not found.colour and found.shape in shapes:
        found.colour = shapes[found.shape]
        carried.append("colour")
    elif found.colour and not found.shape and found.colour in colours:
        found.shape = colours[found.colour]
        carried.append("shape")
    elif not found.shape and not found.colour and last is not None:
        found.colour, found.shape = last.colour, last.shape
        carried += ["colour", "shape"]
    if found.second is not None and found.second[1] in shapes and found.second[0] is None:
        found.second = (shapes[found.second[1]], found.second[1])
        carried.append("second_colour")
    shown = [c for c in (found.colour, found.second and found.second[0]) if c]
    if found.background is None and last is not None and all(_visible(c, last.background) for c in shown):
        found.background = last.background
        carried.append("background")
    return carried


def world_shots_enhance(prompts: Sequence[str]) -> list[Enhanced]:
    """A storyboard's shots: an object named in several shots keeps its colour and shape across them,
    and a new object gets a colour no earlier object has."""
    shapes: dict[str, str] = {}  # shape -> colour of the objects so far
    colours: dict[str, str] = {}  # colour -> shape
    last: world.Scene | None = None
    out = []
    for prompt in prompts:
        found, unmapped = prompt_found(prompt)
        carried = _carry(found, shapes, colours, last)
        scene, defaulted = scene_complete(found, avoid=list(colours))
        for colour, shape in [(scene.colour, scene.shape), *([scene.second] if scene.second else [])]:
            shapes[shape], colours[colour] = colour, shape  # the latest object of a shape is "the fish"
        last = scene
        out.append(Enhanced(caption_for(scene), unmapped, ENHANCER, scene_dict(scene, defaulted, carried)))
    return out
