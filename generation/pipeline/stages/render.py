"""render: the engine makes the clip, reporting every step (where a cancel or a stop takes effect).

A plain clip (a remix too) is one call of the engine. An extension is one call that goes on from the
source's last frames and sound (`GENERATION_EXTEND_CONTEXT_S` of them). A storyboard is one call per
shot, in order, with progress counted over all of them and `shot` saying which is being made (a
cancel stops the shot being made; the ones after it never start), then the shots joined with
`mediakit.join.clips_join`. A stitch renders nothing: `assemble` joins the drafts instead.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
from django.conf import settings

from cameos.public import CameoCast, cameo_references
from feed.public import video_file_read
from generation import errors
from generation.cast import cast_notes
from generation.engines import Engine, GenerationRequest, out_of_memory_errors
from generation.engines.base import DurationUnsupported
from generation.models import Job
from generation.pipeline.context import (
    PASSED,
    JobContext,
    StageResult,
    block,
    fail,
    requeue,
    transient,
)
from generation.pipeline.stages.enhance import shot_casts
from mediakit import Clip
from mediakit.join import clips_join
from mediakit.sampling import MediaUnreadable, clip_tail

ASPECT_RATIOS = {"portrait": (9, 16), "landscape": (16, 9), "square": (1, 1)}


class SourceGone(Exception):
    """The video an extension goes on from has no readable file any more."""


def render(ctx: JobContext) -> StageResult:
    if ctx.claimed.kind == Job.Kind.STITCH:
        return PASSED
    assert ctx.engine is not None
    try:
        requests = requests_for(ctx.claimed, ctx.engine, ctx.casts)
        if ctx.claimed.kind == Job.Kind.EXTENSION:
            ctx.parts = (_source_read(ctx.claimed),)  # `encode` names it as the clip this one changes
            requests = [_extending(requests[0], ctx.parts[0])]
    except OSError as exc:  # the start image's or the source's storage
        return transient(errors.STORAGE_UNAVAILABLE, str(exc))
    except SourceGone:
        return block(errors.EXTEND_SOURCE_GONE)
    try:
        clips = _rendered(ctx, ctx.engine, requests)
    except out_of_memory_errors() as exc:
        return requeue(errors.OUT_OF_MEMORY, str(exc))
    except DurationUnsupported as exc:
        return fail(errors.DURATION_UNSUPPORTED, str(exc))
    fade_ms = settings.GENERATION_STITCH_FADE_MS
    ctx.clip = clips[0] if len(clips) == 1 else clips_join(clips, fade_ms=fade_ms)
    return PASSED


def _rendered(ctx: JobContext, engine: Engine, requests: list[GenerationRequest]) -> list[Clip]:
    """Each request made in turn, progress counted over all of them."""
    total = sum(engine.steps_for(request.num_frames) for request in requests)
    first = requests[0]
    frames = sum(request.num_frames for request in requests)
    ctx.advance(steps=total, width=first.width, height=first.height, num_frames=frames)
    clips, done = [], 0
    for index, request in enumerate(requests):
        if len(requests) > 1:
            ctx.advance(shot=index + 1)
        clips.append(engine.generate(request, partial(_step_of_all, ctx, done, total)))
        done += engine.steps_for(request.num_frames)
    return clips


def _step_of_all(ctx: JobContext, before: int, total: int, step: int, _steps: int) -> None:
    """One request's step callback, reporting progress over all the job's requests."""
    ctx.on_step(before + step, total)


def requests_for(job: Job, engine: Engine, casts: tuple[CameoCast, ...] = ()) -> list[GenerationRequest]:
    """What the engine is asked to make: one request, or one per storyboard shot (an extension's
    source is added by `render`, which keeps its file for the manifest)."""
    if job.kind == Job.Kind.STORYBOARD:
        return [
            request_for(
                job,
                engine,
                shot_casts(casts, shot),
                prompt=shot.get("enhanced_prompt") or shot["prompt"],
                duration_s=shot["duration_s"],
            )
            for shot in job.shots
        ]
    return [request_for(job, engine, casts)]


def request_for(
    job: Job, engine: Engine, casts: tuple[CameoCast, ...] = (), **shot: Any
) -> GenerationRequest:
    """The job's asked size (quality and aspect) and length, fitted to what the engine's model accepts,
    and its cast (`casts`, consented in `recheck`): each cameo's first reference image (for engines that
    take them) and what the cameos ask of the picture (unless the enhancer merged it into the prompt).
    `shot` may give a storyboard shot's own `prompt` and `duration_s`."""
    short = settings.GENERATION_SHORT_SIDE[job.quality]
    across, down = ASPECT_RATIOS[job.aspect]
    width, height = (short * across // down, short) if across >= down else (short, short * down // across)
    fps = settings.GENERATION_FPS
    duration_s = shot.get("duration_s", job.duration_s)
    width, height, frames = engine.fit(width, height, int(duration_s * fps) + 1)
    enhanced = bool(job.enhanced_prompt)
    return GenerationRequest(
        prompt=shot.get("prompt") or job.enhanced_prompt or job.prompt,
        width=width,
        height=height,
        num_frames=frames,
        fps=fps,
        seed=job.seed,
        start_image=_start_image(job, width, height),
        reference_images=_references(casts) if engine.supports_reference_images else (),
        cast_notes="" if enhanced else cast_notes(casts),
    )


def _source_read(job: Job) -> bytes:
    """The signed file of the video an extension goes on from; SourceGone when it has none."""
    assert job.extend_of_id is not None
    data = video_file_read(job.extend_of_id)
    if data is None:
        raise SourceGone
    return data


def _extending(request: GenerationRequest, data: bytes) -> GenerationRequest:
    """The request going on from the last frames and sound of the source's file `data`."""
    try:
        tail = clip_tail(data, seconds=settings.GENERATION_EXTEND_CONTEXT_S, fps=request.fps)
    except MediaUnreadable:
        raise SourceGone from None
    return replace(
        request, prefix_frames=tail.frames, prefix_audio=tail.audio, prefix_sample_rate=tail.sample_rate
    )


def _references(casts: tuple[CameoCast, ...]) -> tuple[np.ndarray, ...]:
    """One image per cameo (its first reference: a frontal face crop, or a character's image)."""
    images = [cameo_references(cameo_id=cast.cameo_id, limit=1) for cast in casts]
    return tuple(image for found in images for image in found)


def _start_image(job: Job, width: int, height: int) -> np.ndarray | None:
    if not job.start_image:
        return None
    from PIL import Image, ImageOps

    with job.start_image.open("rb") as handle:
        return np.asarray(ImageOps.fit(Image.open(handle).convert("RGB"), (width, height)))
