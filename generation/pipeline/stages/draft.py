"""draft: the point of no return. The draft is made with the job's row locked, so a cancel or a
stop from another app that lands first wins, and one that lands later finds the job done."""

from __future__ import annotations

from django.db import transaction

from feed.public import draft_create_for_job
from generation import errors
from generation.pipeline.context import PASSED, Interrupted, JobContext, StageResult, transient


def draft(ctx: JobContext) -> StageResult:
    job = ctx.claimed
    assert ctx.encoded is not None
    assert ctx.engine is not None
    try:
        with transaction.atomic():
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
    except OSError as exc:  # storage: disk, network, S3
        return transient(errors.STORAGE_UNAVAILABLE, str(exc))
    ctx.video_id = receipt.video_id
    return PASSED
