"""Prompt enhancement: the prompt as typed -> the caption form the configured engine was trained on.

The built-in model gets its world's own wording, mapped by meaning (mapper.py), with the words it cannot
show reported in `unmapped`; the diffusers engines get a template expansion (template.py). Both are
cheap after the first call: the built-in path loads its embedder and embeds its vocabulary once per
process; the template path needs no model and never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from generation.engines.families import TINY_CLASSES, _pipeline_class
from generation.enhance.base import Enhanced
from generation.enhance.template import SHORT, template_caption, template_name

__all__ = ["BUILTIN", "Enhanced", "enhancer_family", "prompt_enhance", "shots_enhance"]

BUILTIN = "builtin"
# Short names are accepted too: "ltx2", "wan", "wan-vace" (the tiny engines' names).
_FAMILIES = {**{name: name for name in SHORT}, **TINY_CLASSES}


def enhancer_family() -> str:
    """The configured engine's family: "builtin", or its diffusers pipeline class ("LTX2Pipeline",
    "WanPipeline", "WanVACEPipeline"); the tiny engines are those classes, so they get theirs."""
    if settings.GENERATION_ENGINE == BUILTIN:
        return BUILTIN
    family = _pipeline_class()
    if family not in SHORT:
        raise ValueError(f"no enhancer for the engine {settings.GENERATION_ENGINE!r} (pipeline {family!r})")
    return family


def _resolve(family: str | None) -> str:
    family = enhancer_family() if family is None else family
    if family == BUILTIN:
        return family
    if family not in _FAMILIES:
        known = ", ".join([BUILTIN, *_FAMILIES])
        raise ValueError(f"unknown enhancer family {family!r}; known: {known}")
    return _FAMILIES[family]


def prompt_enhance(prompt: str, *, family: str | None = None, cast_notes: str = "") -> Enhanced:
    """The caption the engine is given for this prompt (family None: the configured engine's).

    The built-in model draws cameos itself, so `cast_notes` only reach the diffusers templates."""
    family = _resolve(family)
    if family == BUILTIN:
        from generation.enhance.mapper import world_enhance  # torch and the embedder: built-in only

        return world_enhance(prompt)
    return Enhanced(template_caption(prompt, family=family, cast_notes=cast_notes), (), template_name(family))


def shots_enhance(
    prompts: Sequence[str], *, family: str | None = None, cast_notes: Sequence[str] = ()
) -> list[Enhanced]:
    """A storyboard's shots, in order. For the built-in model an object named in several shots keeps
    its colour and shape (and the place stays) across them; `cast_notes` are per shot."""
    family = _resolve(family)
    if family == BUILTIN:
        from generation.enhance.mapper import world_shots_enhance

        return world_shots_enhance(prompts)
    notes = [*cast_notes, *[""] * (len(prompts) - len(cast_notes))]
    return [prompt_enhance(p, family=family, cast_notes=n) for p, n in zip(prompts, notes, strict=False)]
