"""screen: the finished clip's faces and voice against the public-figure registry and the registered
cameos (those the job does not cast block, `likeness_unconsented_cameo`), before any draft.

Fails closed: a model that cannot load, or screening that errors or runs out of time, is a transient
failure (the stage runs again, GENERATION_STAGE_TRIES in all) and then the job ends failed with
`moderation_unavailable`; either way no draft is made. A match blocks the job with the code alone:
the member never learns whose likeness matched (the audit log and the moderators do).
"""

from __future__ import annotations

from generation.pipeline.context import PASSED, JobContext, StageResult, block, transient
from moderation.public import MODERATION_UNAVAILABLE, ScreeningUnavailable, clip_screen


def screen(ctx: JobContext) -> StageResult:
    assert ctx.clip is not None
    try:
        # The job's consented cameos may appear; any other registered cameo's face blocks.
        verdict = clip_screen(
            ctx.clip,
            allowed_cameo_ids=frozenset(ctx.claimed.cameo_ids),
            subject_kind="job",
            subject_id=ctx.job_id,
        )
    except ScreeningUnavailable as exc:
        return transient(MODERATION_UNAVAILABLE, str(exc)[:200])
    if verdict.blocked and verdict.error is not None:
        return block(verdict.error)
    return PASSED
