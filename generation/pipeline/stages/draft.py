"""draft: the point of no return. With the job's row locked, the draft is made and the job marked
succeeded in one transaction: a cancel or a stop from another app lands either before (and wins:
no draft) or after (and finds the job done; a revoked consent then concerns the draft, which its
issue lets the owner remove). Nothing can come between the draft and the job's success."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from accounts.public import member_hold
from feed.public import draft_create_for_job, notification_send
from generation import errors
from generation.jobs import job_finish
from generation.models import Job
from generation.pipeline.context import SUCCEEDED, Interrupted, JobContext, StageResult, transient


def draft(ctx: JobContext) -> StageResult:
    job = ctx.claimed
    assert ctx.encoded is not None
    assert ctx.engine is not None
    try:
        with transaction.atomic():
            # The member first, then the job: the order a deletion locks them in (no deadlock), and a
            # deletion either waits for this draft (and removes its files) or has happened.
            if not member_hold(user_id=job.user_id):
                raise Interrupted(ctx.interruption())
            if ctx.unhindered().select_for_update().values_list("id", flat=True).first() is None:
                raise Interrupted(ctx.interruption())
            receipt = draft_create_for_job(
                owner_id=job.user_id,
                job_id=job.id,
                prompt=job.prompt,
                media=ctx.encoded,
                engine=ctx.engine.name[:200],
                remix_of_id=job.remix_of_id,
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
            if receipt.created:  # a draft another attempt made was notified by that attempt
                notification_send(
                    recipient_id=job.user_id,
                    type="generation_finished",
                    target_kind="video",
                    target_id=receipt.video_id,
                    data={"job_id": str(job.id)},
                )
    except OSError as exc:  # storage: disk, network, S3 (nothing was committed)
        return transient(errors.STORAGE_UNAVAILABLE, str(exc))
    return SUCCEEDED
