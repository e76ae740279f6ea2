"""recheck: the world may have changed since the request; may this member still make this clip?

The member is still active; an extension's source may still be extended (not taken down or deleted:
`extend_source_gone`); and every cameo the job casts is still consented to (the level, an approval, the
restrictions against the prompt, a storyboard's against each shot's): a withdrawn consent blocks the
job before the GPU (`cameo_consent_revoked`), written to the cameo's usage log. The draft stage asks
once more, under lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from accounts.public import ACCOUNT_INACTIVE, member_standing
from cameos.public import (
    CAMEO_CONSENT_REVOKED,
    ConsentDecision,
    cameo_owner_of,
    cameo_uses_record,
)
from config.errors import KinoError
from feed.public import video_ref_for_extension
from generation import errors
from generation.cast import job_consent
from generation.models import Job
from generation.pipeline.context import PASSED, JobContext, StageResult, block


def recheck(ctx: JobContext) -> StageResult:
    job = ctx.claimed
    standing = member_standing(user_id=job.user_id)
    if standing is None or not standing.is_active:
        return block(ACCOUNT_INACTIVE)
    if job.extend_of_id is not None and not _extendable(job):
        return block(errors.EXTEND_SOURCE_GONE)
    if job.cameo_ids:
        decisions = job_consent(job, teen=standing.is_teen)
        cameo_uses_record(
            user_id=job.user_id,
            decisions=for_the_log(job, decisions),
            stage="worker",
            job_id=job.id,
            prompt=job.prompt,
        )
        if not consented(job.cameo_ids, decisions):
            return block(CAMEO_CONSENT_REVOKED)
        ctx.casts = tuple(d.cast for d in decisions if d.cast is not None)
    return PASSED


def _extendable(job: Job) -> bool:
    """The extension's source is still one the member may extend (theirs, or a post that allows it;
    not taken down or deleted since the request)."""
    assert job.extend_of_id is not None
    try:
        video_ref_for_extension(viewer_id=job.user_id, video_id=job.extend_of_id)
    except KinoError:
        return False
    return True


def consented(cameo_ids: Sequence[UUID], decisions: Sequence[ConsentDecision]) -> bool:
    """Every cameo the job casts is allowed now, and is the very cameo the request consented to (a
    handle freed by a deletion and taken by another cameo is not the same consent)."""
    allowed = {d.cameo_id for d in decisions if d.allowed}
    return len(decisions) == len(cameo_ids) and set(cameo_ids) <= allowed


def for_the_log(job: Job, decisions: Sequence[ConsentDecision]) -> list[ConsentDecision]:
    """The decisions as the cameos' usage log keeps them: a cameo this job was consented to that the
    member may no longer see is still that cameo (its owner's log shows the refusal), while it lives."""
    cast = dict(zip((handle.lower() for handle in job.cameo_handles), job.cameo_ids, strict=False))
    logged = []
    for decision in decisions:
        cameo_id = cast.get(decision.handle.lower())
        if (
            decision.cameo_id is None
            and cameo_id is not None
            and cameo_owner_of(cameo_id=cameo_id) is not None
        ):
            decision = replace(decision, cameo_id=cameo_id)
        logged.append(decision)
    return logged
