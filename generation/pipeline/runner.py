"""Runs one attempt of a job through its stages and settles how the job ends."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings

from generation import errors
from generation.jobs import job_finish
from generation.models import Job
from generation.pipeline.context import Interrupted, JobContext, Outcome, Stage, StageResult, fail
from generation.pipeline.stages import STAGES

logger = logging.getLogger(__name__)
STAGE_NAME_MAX = Job._meta.get_field("stage").max_length or 30


@dataclass(frozen=True)
class ExecuteOutcome:
    state: str  # the job's state after this call
    retry_in_s: float | None = None  # set when the job may need this worker again later


def job_execute(*, job_id: UUID, worker: str = "", stages: Sequence[Stage] | None = None) -> ExecuteOutcome:
    """Run one attempt of a job through `stages` (default: the pipeline, `STAGES`).
    Safe to call any number of times, from any number of workers."""
    ctx = JobContext(job_id=job_id, worker=worker)
    try:
        for stage in _checked(STAGES if stages is None else stages):
            result = _stage_run(ctx, stage)
            if result.outcome is not Outcome.PASSED:
                return _conclude(ctx, result)
        # Every stage passed, yet none made the draft and finished the job: fail closed.
        return _conclude(ctx, fail(errors.INTERNAL_ERROR, "The pipeline ended without a draft."))
    except Exception as exc:
        # A bug: the job ends failed (the unit comes back, no draft), and the error goes on to Celery's log.
        _conclude(ctx, fail(errors.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        ctx.close()


def _checked(stages: Sequence[Stage]) -> Sequence[Stage]:
    too_long = [stage.__name__ for stage in stages if len(stage.__name__) > STAGE_NAME_MAX]
    if too_long:
        raise ValueError(f"stage names longer than {STAGE_NAME_MAX} characters: {too_long}")
    return stages


def _stage_run(ctx: JobContext, stage: Stage) -> StageResult:
    ctx.stage, ctx.stage_started = stage.__name__, time.monotonic()
    try:
        if ctx.job is not None:
            ctx.advance(stage=ctx.stage, timings=ctx.timings)
            ctx.send("generation.stage")
        result = _with_retries(ctx, stage)
    except Interrupted as stop:
        result = stop.result
    ctx.timings = ctx.timings_now()
    ctx.keep_alive()
    return result


def _with_retries(ctx: JobContext, stage: Stage) -> StageResult:
    """A transient failure runs the same stage again (after backoff); what came before is kept."""
    tries = settings.GENERATION_STAGE_TRIES
    for attempt in range(tries):
        result = stage(ctx)
        if result.outcome is not Outcome.TRANSIENT:
            return result
        logger.warning(
            "generation.stage_transient",
            extra={
                "job_id": str(ctx.job_id),
                "stage": stage.__name__,
                "try": attempt + 1,
                "code": str(result.error),
            },
        )
        if attempt + 1 < tries:
            time.sleep(settings.GENERATION_STAGE_BACKOFF_S * 2**attempt)
    assert result.error is not None
    return fail(result.error, result.detail)


# --- how the job ends ----------------------------------------------------------------------


def _state_now(job_id: UUID) -> str:
    return Job.objects.filter(id=job_id).values_list("state", flat=True).first() or "deleted"


def _ended(ctx: JobContext, state: str, result: StageResult) -> ExecuteOutcome:
    """The job ends without a draft (blocked, failed or cancelled): its quota unit comes back.
    A claimed attempt ends only the job it owns (and records its timings); before a claim,
    whatever attempt holds it, its record untouched."""
    owned: dict[str, Any] = {"from_states": Job.ACTIVE}
    if ctx.job is not None:
        owned = {"from_states": (Job.State.RUNNING,), "attempt": ctx.attempt, "timings": ctx.timings}
    done = job_finish(ctx.job_id, state, refund=True, error=result.error, message=result.detail, **owned)
    return ExecuteOutcome(done.state if done else _state_now(ctx.job_id))


def _succeeded(ctx: JobContext, result: StageResult) -> ExecuteOutcome:
    logger.info("generation.succeeded", extra={"job_id": str(ctx.job_id), "timings": ctx.timings})
    return ExecuteOutcome(ctx.claimed.state)  # the draft stage left the finished row in the context


def _requeue(ctx: JobContext, result: StageResult) -> ExecuteOutcome:
    """Another attempt later (the message is retried by Celery); the last one allowed fails instead."""
    attempt = ctx.attempt or 0
    if attempt >= settings.GENERATION_MAX_ATTEMPTS:
        return _ended(ctx, Job.State.FAILED, result)
    assert result.error is not None
    message = (result.detail or result.error.message)[:500]
    requeued = Job.objects.filter(id=ctx.job_id, attempts=attempt, state=Job.State.RUNNING).update(
        state=Job.State.QUEUED, error_code=result.error.code, error_message=message, timings=ctx.timings
    )
    if requeued:
        ctx.job = Job.objects.get(id=ctx.job_id)
        ctx.send("generation.queued")  # with its attempts: the client knows it waits again
    logger.warning("generation.requeued", extra={"job_id": str(ctx.job_id), "code": result.error.code})
    return ExecuteOutcome(Job.State.QUEUED, retry_in_s=2.0 * attempt)


def _step_aside(ctx: JobContext, result: StageResult) -> ExecuteOutcome:
    if ctx.job is not None:
        logger.warning("generation.superseded", extra={"job_id": str(ctx.job_id), "attempt": ctx.attempt})
    return ExecuteOutcome(_state_now(ctx.job_id), retry_in_s=result.retry_in_s)


_ENDINGS = {
    Outcome.BLOCK: Job.State.BLOCKED,
    Outcome.FAIL: Job.State.FAILED,
    Outcome.CANCEL: Job.State.CANCELLED,
}
_CONCLUSIONS: dict[Outcome, Callable[[JobContext, StageResult], ExecuteOutcome]] = {
    Outcome.SUCCEEDED: _succeeded,
    Outcome.REQUEUE: _requeue,
    Outcome.STEP_ASIDE: _step_aside,
}


def _conclude(ctx: JobContext, result: StageResult) -> ExecuteOutcome:
    if result.outcome in _ENDINGS:
        return _ended(ctx, _ENDINGS[result.outcome], result)
    return _CONCLUSIONS[result.outcome](ctx, result)
