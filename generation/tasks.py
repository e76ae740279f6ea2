"""Generation tasks (queues `generation` and `generation.priority`, served by GPU workers)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from celery import shared_task

from generation.jobs import RUN_TASK


@shared_task(name=RUN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=50)
def job_run(self: Any, *, job_id: str) -> str:
    """One attempt at a job. The job's row, not this message, is the truth: repeats are harmless."""
    # Imported here: every process registers this task (apps.ready), only workers run the pipeline
    # (and load PyAV and the engines).
    from generation import pipeline

    outcome = pipeline.job_execute(job_id=UUID(job_id), worker=self.request.hostname or "")
    if outcome.retry_in_s is not None:
        raise self.retry(countdown=outcome.retry_in_s)
    return outcome.state
