"""encode: the marked clip as phones play it (H.264 + AAC MP4, index first) and a poster, with the C2PA
manifest `mark` drew up signed into the MP4 (`provenance.public.mp4_sign`; signing that is switched on
and fails raises, and the job fails: no unsigned clip reaches a draft). A remix's parent whose file c2pa
cannot read as an ingredient is left out of the manifest, with a warning: the remix is still signed as
made by Kino, and feed records its lineage. An edit names its sources: an extension the clip it goes
on from (`parentOf`), a stitch its parts (`componentOf`); if c2pa refuses them it is signed as made
by Kino, the same way."""

from __future__ import annotations

import logging
from dataclasses import replace

from generation.models import Job
from generation.pipeline.context import PASSED, JobContext, StageResult
from mediakit.encode import clip_encode
from provenance.public import Creation, IngredientRefused, mp4_edit_sign, mp4_sign

logger = logging.getLogger(__name__)


def encode(ctx: JobContext) -> StageResult:
    """The job reports the size it will deliver."""
    assert ctx.clip is not None
    assert ctx.creation is not None, "`mark` runs before `encode`"
    encoded = clip_encode(ctx.clip)
    ctx.encoded = replace(encoded, mp4=_signed(ctx, encoded.mp4, ctx.creation))
    ctx.advance(width=ctx.encoded.width, height=ctx.encoded.height)
    return PASSED


def _signed(ctx: JobContext, mp4: bytes, creation: Creation) -> bytes:
    try:
        if ctx.parts:
            return _edit_signed(ctx, mp4, creation)
        return mp4_sign(mp4, creation)
    except IngredientRefused as exc:
        logger.warning(
            "generation.parent_ingredient_refused",
            extra={"job_id": str(ctx.job_id), "remix_of": str(ctx.claimed.remix_of_id), "error": str(exc)},
        )
        return mp4_sign(mp4, replace(creation, parent_mp4=None))


def _edit_signed(ctx: JobContext, mp4: bytes, creation: Creation) -> bytes:
    """An extension names its source (`parentOf`), a stitch each of its parts (`componentOf`)."""
    stitch = ctx.claimed.kind == Job.Kind.STITCH
    return mp4_edit_sign(
        mp4,
        parents=list(ctx.parts),
        relationship="componentOf" if stitch else "parentOf",
        handle=creation.handle,
        engine=creation.engine,
        model_version=creation.model_version,
    )
