"""render: the engine makes the clip, reporting every step (where a cancel or a stop takes effect)."""

from __future__ import annotations

import numpy as np
from django.conf import settings

from cameos.public import CameoCast, cameo_references
from generation import errors
from generation.engines import Engine, GenerationRequest, out_of_memory_errors
from generation.models import Job
from generation.pipeline.context import PASSED, JobContext, StageResult, requeue, transient

ASPECT_RATIOS = {"portrait": (9, 16), "landscape": (16, 9), "square": (1, 1)}


def render(ctx: JobContext) -> StageResult:
    assert ctx.engine is not None
    try:
        request = request_for(ctx.claimed, ctx.engine, ctx.casts)
    except OSError as exc:  # the start image's storage
        return transient(errors.STORAGE_UNAVAILABLE, str(exc))
    size = {"width": request.width, "height": request.height, "num_frames": request.num_frames}
    ctx.advance(steps=ctx.engine.steps, **size)
    try:
        ctx.clip = ctx.engine.generate(request, ctx.on_step)
    except out_of_memory_errors() as exc:
        return requeue(errors.OUT_OF_MEMORY, str(exc))
    return PASSED


def request_for(job: Job, engine: Engine, casts: tuple[CameoCast, ...] = ()) -> GenerationRequest:
    """The job's asked size (quality and aspect) and length, fitted to what the engine's model accepts,
    and its cast (`casts`, consented in `recheck`): each cameo's first reference image (for engines that
    take them) and what the cameos ask of the picture."""
    short = settings.GENERATION_SHORT_SIDE[job.quality]
    across, down = ASPECT_RATIOS[job.aspect]
    width, height = (short * across // down, short) if across >= down else (short, short * down // across)
    fps = settings.GENERATION_FPS
    width, height, frames = engine.fit(width, height, int(job.duration_s * fps) + 1)
    return GenerationRequest(
        prompt=job.prompt,
        width=width,
        height=height,
        num_frames=frames,
        fps=fps,
        seed=job.seed,
        start_image=_start_image(job, width, height),
        reference_images=_references(casts) if engine.supports_reference_images else (),
        cast_notes=cast_notes(casts),
    )


def _references(casts: tuple[CameoCast, ...]) -> tuple[np.ndarray, ...]:
    """One image per cameo (its first reference: a frontal face crop, or a character's image)."""
    images = [cameo_references(cameo_id=cast.cameo_id, limit=1) for cast in casts]
    return tuple(image for found in images for image in found)


def cast_notes(casts: tuple[CameoCast, ...]) -> str:
    """The cast in words: "@robo (Robo): a cheerful cardboard robot. @alice (Alice): always wearing a
    red cap." (a character's personality, then any cameo's preferences)."""
    notes = []
    for cast in casts:
        asks = "; ".join(
            text.strip().rstrip(".") for text in (cast.personality, cast.preferences) if text.strip()
        )
        name = f"@{cast.handle} ({cast.display_name})" if cast.display_name else f"@{cast.handle}"
        notes.append(f"{name}: {asks}." if asks else f"{name}.")
    return " ".join(notes)


def _start_image(job: Job, width: int, height: int) -> np.ndarray | None:
    if not job.start_image:
        return None
    from PIL import Image, ImageOps

    with job.start_image.open("rb") as handle:
        return np.asarray(ImageOps.fit(Image.open(handle).convert("RGB"), (width, height)))
