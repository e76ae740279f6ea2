"""render: the engine makes the clip, reporting every step (where a cancel or a stop takes effect)."""

from __future__ import annotations

import numpy as np
from django.conf import settings

from generation import errors
from generation.engines import Engine, GenerationRequest, out_of_memory_errors
from generation.models import Job
from generation.pipeline.context import PASSED, JobContext, StageResult, requeue, transient

ASPECT_RATIOS = {"portrait": (9, 16), "landscape": (16, 9), "square": (1, 1)}


def render(ctx: JobContext) -> StageResult:
    assert ctx.engine is not None
    try:
        request = request_for(ctx.claimed, ctx.engine)
    except OSError as exc:  # the start image's storage
        return transient(errors.STORAGE_UNAVAILABLE, str(exc))
    size = {"width": request.width, "height": request.height, "num_frames": request.num_frames}
    ctx.advance(steps=ctx.engine.steps, **size)
    try:
        ctx.clip = ctx.engine.generate(request, ctx.on_step)
    except out_of_memory_errors() as exc:
        return requeue(errors.OUT_OF_MEMORY, str(exc))
    return PASSED


def request_for(job: Job, engine: Engine) -> GenerationRequest:
    """The job's asked size (quality and aspect) and length, fitted to what the engine's model accepts."""
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
    )


def _start_image(job: Job, width: int, height: int) -> np.ndarray | None:
    if not job.start_image:
        return None
    from PIL import Image, ImageOps

    with job.start_image.open("rb") as handle:
        return np.asarray(ImageOps.fit(Image.open(handle).convert("RGB"), (width, height)))
