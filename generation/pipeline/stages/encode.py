"""encode: the clip as phones play it (H.264 + AAC MP4, index first) and a poster."""

from __future__ import annotations

from generation.pipeline.context import PASSED, JobContext, StageResult
from mediakit.encode import clip_encode


def encode(ctx: JobContext) -> StageResult:
    assert ctx.clip is not None
    ctx.encoded = clip_encode(ctx.clip)
    return PASSED
