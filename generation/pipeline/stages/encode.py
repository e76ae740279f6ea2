"""encode: the marked clip as phones play it (H.264 + AAC MP4, index first) and a poster, with the C2PA
manifest `mark` drew up signed into the MP4 (`provenance.public.mp4_sign`; signing that is switched on
and fails raises, and the job fails: no unsigned clip reaches a draft)."""

from __future__ import annotations

from dataclasses import replace

from generation.pipeline.context import PASSED, JobContext, StageResult
from mediakit.encode import clip_encode
from provenance.public import mp4_sign


def encode(ctx: JobContext) -> StageResult:
    """The job reports the size it will deliver."""
    assert ctx.clip is not None
    assert ctx.creation is not None, "`mark` runs before `encode`"
    encoded = clip_encode(ctx.clip)
    ctx.encoded = replace(encoded, mp4=mp4_sign(encoded.mp4, ctx.creation))
    ctx.advance(width=ctx.encoded.width, height=ctx.encoded.height)
    return PASSED
