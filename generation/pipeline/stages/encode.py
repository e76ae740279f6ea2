"""encode: the marked clip as phones play it (H.264 + AAC MP4, index first) and a poster, with the C2PA
manifest `mark` drew up signed into the MP4 (`provenance.public.mp4_sign`; signing that is switched on
and fails raises, and the job fails: no unsigned clip reaches a draft). A remix's parent whose file c2pa
cannot read as an ingredient is left out of the manifest, with a warning: the remix is still signed as
made by Kino, and feed records its lineage."""

from __future__ import annotations

import logging
from dataclasses import replace

from generation.pipeline.context import PASSED, JobContext, StageResult
from mediakit.encode import clip_encode
from provenance.public import Creation, IngredientRefused, mp4_sign

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
        return mp4_sign(mp4, creation)
    except IngredientRefused as exc:
        logger.warning(
            "generation.parent_ingredient_refused",
            extra={"job_id": str(ctx.job_id), "remix_of": str(ctx.claimed.remix_of_id), "error": str(exc)},
        )
        return mp4_sign(mp4, replace(creation, parent_mp4=None))
