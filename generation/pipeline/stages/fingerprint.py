"""fingerprint: the prints the public lookup finds a copy by (`provenance.public.clip_prints`): PDQ
hashes of the marked frames, sampled at a fixed rate through several windows, and the sound's
landmark hashes. Computed here, on the frames as delivered; `draft` stores them with the draft (every
video Kino made is findable: a copy of a draft reads "made in Kino" without saying whose)."""

from __future__ import annotations

from generation.pipeline.context import PASSED, JobContext, StageResult
from provenance.public import clip_prints


def fingerprint(ctx: JobContext) -> StageResult:
    assert ctx.clip is not None
    clip = ctx.clip
    ctx.prints = clip_prints(clip.frames, clip.fps, clip.audio, clip.sample_rate, handle=ctx.handle)
    return PASSED
