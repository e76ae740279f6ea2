"""enhance: the prompt as typed becomes the caption form the engine's model was trained on
(`generation.enhance`: the built-in world's words by meaning, or a template for diffusers models with
the cast's preferences merged in). The job keeps both; words the enhancer could not map are kept as
`unmapped`, so the member sees what the model will not draw. A storyboard's shots are enhanced
together, so an object named in several shots stays the same. Skipped when the member turned it
off, for a stitch (no model runs), and for an engine without an enhancer (see `family_of`)."""

from __future__ import annotations

from typing import Any

from cameos.public import CameoCast
from generation.cast import cast_notes
from generation.models import Job
from generation.pipeline.context import PASSED, JobContext, StageResult


def enhance(ctx: JobContext) -> StageResult:
    job = ctx.claimed
    family = family_of(ctx.engine.name) if ctx.engine is not None else ""
    if not job.enhance or job.kind == Job.Kind.STITCH or not family:
        return PASSED
    from generation.enhance import prompt_enhance, shots_enhance

    if job.kind == Job.Kind.STORYBOARD:
        notes = [cast_notes(shot_casts(ctx.casts, shot)) for shot in job.shots]
        found = shots_enhance([shot["prompt"] for shot in job.shots], family=family, cast_notes=notes)
        shots = [
            {**shot, "enhanced_prompt": one.caption, "unmapped": list(one.unmapped)}
            for shot, one in zip(job.shots, found, strict=True)
        ]
        caption = "\n".join(one.caption for one in found)
        unmapped = [word for one in found for word in one.unmapped]
        ctx.advance(shots=shots, **_fields(caption, unmapped, found[0].enhancer))
    else:
        one = prompt_enhance(job.prompt, family=family, cast_notes=cast_notes(ctx.casts))
        ctx.advance(**_fields(one.caption, list(one.unmapped), one.enhancer))
    ctx.send("generation.enhanced")
    return PASSED


def family_of(engine_name: str) -> str:
    """The enhancer family of an engine, by its name: "builtin/<folder>" is the built-in model,
    "diffusers/<pipeline class>" a diffusers family; any other engine (a test's) has none."""
    kind, _, rest = engine_name.partition("/")
    if kind == "builtin":
        return "builtin"
    return rest.split(" ")[0] if kind == "diffusers" else ""


def _fields(caption: str, unmapped: list[str], enhancer: str) -> dict[str, Any]:
    words = list(dict.fromkeys(word[:100] for word in unmapped))  # each once, in the prompt's order
    return {"enhanced_prompt": caption, "unmapped": words, "enhancer": enhancer[:50]}


def shot_casts(casts: tuple[CameoCast, ...], shot: dict[str, Any]) -> tuple[CameoCast, ...]:
    """The job's consented cast that this storyboard shot names."""
    named = {handle.lower() for handle in shot.get("cameos", ())}
    return tuple(cast for cast in casts if cast.handle.lower() in named)
