"""draft: the point of no return. With the job's row locked, the draft is made and the job marked
succeeded in one transaction: a cancel or a stop from another app lands either before (and wins:
no draft) or after (and finds the job done; a revoked consent then concerns the draft, which the
cameo's owner can remove). Nothing can come between the draft and the job's success.

Consent is asked a third time here, holding FOR SHARE on the cast cameos' rows (taken before the
job's row: a revocation locks the cameo FOR UPDATE and then stops the job, the same order, so the
two never deadlock). A revocation that committed first is seen (the job ends blocked,
`cameo_consent_revoked`, no draft); one that comes later waits for this draft to commit and finds
the job done. The draft records its cast (feed's VideoCameo) and each owner is told of the use."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction
from django.db.models import F

from accounts.public import member_hold, member_standing
from cameos.public import CAMEO_CONSENT_REVOKED, ConsentDecision, cameo_uses_record
from feed.public import draft_create_for_job, notification_send
from generation import errors
from generation.cast import job_consent
from generation.jobs import job_finish
from generation.models import Job
from generation.pipeline.context import (
    SUCCEEDED,
    Interrupted,
    JobContext,
    StageResult,
    block,
    transient,
)
from generation.pipeline.stages.recheck import consented, for_the_log
from moderation.public import labels_carry
from provenance.public import prints_store


class _ConsentWithdrawn(Exception):
    """Raised inside the draft's transaction (rolling it back) when a cast cameo's consent is gone."""

    def __init__(self, decisions: tuple[ConsentDecision, ...]) -> None:
        super().__init__("consent withdrawn")
        self.decisions = decisions


def _consent_locked(job: Job) -> tuple[ConsentDecision, ...]:
    """The cast's decisions under FOR SHARE locks on the cameos' rows; _ConsentWithdrawn if any refuses."""
    if not job.cameo_ids:
        return ()
    standing = member_standing(user_id=job.user_id)
    teen = standing is not None and standing.is_teen
    decisions = job_consent(job, teen=teen, lock=True)
    if not consented(job.cameo_ids, decisions):
        raise _ConsentWithdrawn(decisions)
    return decisions


def draft(ctx: JobContext) -> StageResult:
    job = ctx.claimed
    try:
        with transaction.atomic():
            # The member first, then the cast cameos, then the job: the order a deletion and a
            # revocation lock them in (no deadlock); each either waits for this draft or has happened.
            if not member_hold(user_id=job.user_id):
                raise Interrupted(ctx.interruption())
            decisions = _consent_locked(job)
            if ctx.unhindered().select_for_update().values_list("id", flat=True).first() is None:
                raise Interrupted(ctx.interruption())
            _draft_make(ctx, decisions)
    except OSError as exc:  # storage: disk, network, S3 (nothing was committed)
        return transient(errors.STORAGE_UNAVAILABLE, str(exc))
    except _ConsentWithdrawn as withdrawn:  # nothing was committed: no draft, ever
        cameo_uses_record(
            user_id=job.user_id,
            decisions=for_the_log(job, withdrawn.decisions),
            stage="draft",
            job_id=job.id,
            prompt=job.prompt,
        )
        return block(CAMEO_CONSENT_REVOKED)
    return SUCCEEDED


def _made_as(job: Job) -> str:
    """How feed tells the draft was made (a generation with a parent is a remix)."""
    if job.kind == Job.Kind.GENERATION:
        return "remix" if job.remix_of_id else "generation"
    return str(job.kind)


def _draft_make(ctx: JobContext, decisions: tuple[ConsentDecision, ...]) -> None:
    """The draft with its cast, the job succeeded, and (the first time) the owners and the member told;
    inside the draft's transaction, with the job's row locked."""
    job = ctx.claimed
    assert ctx.encoded is not None
    assert ctx.creation is not None, "`mark` runs before `draft`"
    receipt = draft_create_for_job(
        owner_id=job.user_id,
        job_id=job.id,
        prompt=job.prompt,
        media=ctx.encoded,
        engine=ctx.creation.engine[:200],
        remix_of_id=job.remix_of_id or job.extend_of_id,
        cameos=[(d.cameo_id, d.owner_id) for d in decisions if d.cameo_id and d.owner_id],
        made_as=_made_as(job),
    )
    finished = job_finish(
        job.id,
        Job.State.SUCCEEDED,
        from_states=(Job.State.RUNNING,),
        attempt=job.attempts,
        refund=False,
        video_id=receipt.video_id,
        step=F("steps"),
        timings=ctx.timings_now(),
    )
    assert finished is not None, "the job's row is locked and this attempt's"
    ctx.job = finished
    if receipt.created:  # a draft another attempt made was notified (and printed) by that attempt
        _draft_announce(ctx, receipt.video_id, decisions)


def _draft_announce(ctx: JobContext, video_id: UUID, decisions: tuple[ConsentDecision, ...]) -> None:
    """What a new draft brings along: its sources' labels, its prints, the cast's usage log, and
    the member told."""
    job = ctx.claimed
    assert ctx.encoded is not None
    assert ctx.prints is not None, "`fingerprint` runs before `draft`"
    sources = [job.extend_of_id] if job.extend_of_id else list(job.parts)
    if sources:  # an edit keeps its sources' moderation labels (not for teens, not in feeds, ...)
        labels_carry("video", sources, video_id)
    media = ctx.encoded
    prints_store(video_id, ctx.prints, width=media.width, height=media.height, duration_ms=media.duration_ms)
    cameo_uses_record(
        user_id=job.user_id,
        decisions=decisions,
        stage="draft",
        job_id=job.id,
        video_id=video_id,
        prompt=job.prompt,
    )
    notification_send(
        recipient_id=job.user_id,
        type="generation_finished",
        target_kind="video",
        target_id=video_id,
        data={"job_id": str(job.id)},
    )
