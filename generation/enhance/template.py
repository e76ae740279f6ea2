"""The diffusers engines' enhancer: the prompt as typed, then the details video models follow best
(subject, motion, camera, light; sound for LTX-2, which makes it), then the cast's notes.

A fixed template, no model: deterministic, and cheap enough for the web process's preview. A detail
the prompt already gives (it names a camera move, a light, a sound) is left to the prompt's words.
"""

from __future__ import annotations

import re

SOUND_FAMILIES = frozenset({"LTX2Pipeline"})  # the families that make sound (engines/families.py)
SHORT = {"LTX2Pipeline": "ltx2", "WanPipeline": "wan", "WanVACEPipeline": "wan-vace"}
VERSION = 1

CAMERA_WORDS = frozenset(
    "camera pan pans panning zoom zooms zooming dolly tracking close-up closeup aerial drone shot handheld "
    "angle tilt tilts orbit orbits pov wide-angle overhead".split()
)
LIGHT_WORDS = frozenset(
    "light lit lighting sunlight sunlit sunset sunrise dusk dawn night dark glow glowing neon shadow shadows "
    "moonlight moonlit candlelight overcast sunny bright dim backlit".split()
)
SOUND_WORDS = frozenset(
    "sound sounds audio music song sings singing says say voice voices speaks speaking talking talks "
    "noise silent silence quiet loud hear hears dialogue narration whisper whispers shouts".split()
)

SUBJECT = "The main subject stays clearly visible and in focus, its look consistent from start to finish."
MOTION = "Its movement is smooth and continuous, with natural weight and physics."
CAMERA = "The camera holds a steady medium shot at eye level."
LIGHT = "Soft natural light with gentle shadows and true colours."
SOUND = "Sound: the natural sounds of the scene in sync with the action, over a quiet ambience."
SOUND_GIVEN = "Sound: as described, in sync with the action."


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?" else text + "."


def template_caption(prompt: str, *, family: str, cast_notes: str = "") -> str:
    """The prompt's own words first, the cast next (who they are and what they ask), then the rest."""
    words = set(re.findall(r"[a-z]+(?:-[a-z]+)*", prompt.lower()))
    parts = [_sentence(prompt)]
    if cast_notes.strip():
        parts.append("Cast: " + _sentence(cast_notes))
    parts += [SUBJECT, MOTION]
    if not words & CAMERA_WORDS:
        parts.append(CAMERA)
    if not words & LIGHT_WORDS:
        parts.append(LIGHT)
    if family in SOUND_FAMILIES:
        parts.append(SOUND_GIVEN if words & SOUND_WORDS else SOUND)
    return " ".join(p for p in parts if p)


def template_name(family: str) -> str:
    return f"template/{SHORT[family]}/{VERSION}"
