"""encode: the clip as phones play it (H.264 + AAC MP4, index first) and a poster."""

from __future__ import annotations

from generation.pipeline.context import PASSED, JobContext, StageResult
from mediakit.encode import clip_encode


def encode(ctx: JobContext) -> StageResult:
    """The job reports the size it will deliver: small native frames are scaled up for phones."""
    assert ctx.clip is not None
    ctx.encoded = clip_encode(ctx.clip)
    ctx.advance(width=ctx.encoded.width, height=ctx.encoded.height)
    return PASSED
