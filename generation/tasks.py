"""Generation tasks (queues `generation` and `generation.priority`, served by GPU workers)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from celery import shared_task

from generation import services


@shared_task(name="generation.run", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=50)
def job_run(self: Any, *, job_id: str) -> str:
    """One attempt at a job. The job's row, not this message, is the truth: repeats are harmless."""
    try:
        outcome = services.job_execute(job_id=UUID(job_id), worker=self.request.hostname or "")
    except Exception as exc:
        # Not hidden: the job is marked failed so it does not loop, and the error goes on to Celery's log.
        services.job_fail_internal(job_id=UUID(job_id), message=f"{type(exc).__name__}: {exc}")
        raise
    if outcome.retry_in_s is not None:
        raise self.retry(countdown=outcome.retry_in_s)
    return outcome.state
