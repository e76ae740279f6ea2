"""claim: take the job for this attempt, or learn why not."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from generation import errors
from generation.models import Job
from generation.pipeline.context import (
    CANCEL,
    PASSED,
    JobContext,
    StageResult,
    block,
    fail,
    step_aside,
    stop_error,
)


def claim(ctx: JobContext) -> StageResult:
    """Queued, or running with a stale heartbeat (its worker is gone): one conditional UPDATE decides."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.GENERATION_STALE_S)
    claimable = Q(state=Job.State.QUEUED) | Q(state=Job.State.RUNNING, heartbeat_at__lt=stale)
    claimed = Job.objects.filter(
        claimable,
        id=ctx.job_id,
        cancel_requested=False,
        stop_code="",
        attempts__lt=settings.GENERATION_MAX_ATTEMPTS,
    ).update(
        state=Job.State.RUNNING,
        attempts=F("attempts") + 1,
        heartbeat_at=now,
        step=0,
        shot=0,
        stage="claim",
        timings=[],
        started_at=now,
        worker=ctx.worker[:200],
    )
    if not claimed:
        return _unclaimable(ctx.job_id)
    ctx.job = Job.objects.get(id=ctx.job_id)
    ctx.send("generation.running")  # at once: the model may take a while to load
    return PASSED


def _unclaimable(job_id: UUID) -> StageResult:
    job = Job.objects.filter(id=job_id).first()
    if job is None or job.state in Job.FINISHED:
        return step_aside()
    if job.cancel_requested:
        return CANCEL
    if job.stop_code:
        return block(stop_error(job.stop_code))
    if job.attempts >= settings.GENERATION_MAX_ATTEMPTS:
        return fail(
            errors.ATTEMPTS_EXHAUSTED, f"Gave up after {job.attempts} attempts (the worker kept dying)."
        )
    # Running, with a fresh heartbeat: another attempt may be alive. Look again once it would be stale.
    assert job.heartbeat_at is not None
    wait = (job.heartbeat_at - timezone.now()).total_seconds() + settings.GENERATION_STALE_S + 0.5
    return step_aside(retry_in_s=max(0.5, wait))
