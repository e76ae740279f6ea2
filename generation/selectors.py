"""Reads of the generation app, scoped to the job's owner."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Q, QuerySet

from config.errors import KinoError
from generation import errors
from generation.models import Job


def jobs_of(*, owner_id: UUID) -> QuerySet[Job]:
    return Job.objects.filter(user_id=owner_id)


def job_get_for_owner(*, owner_id: UUID, job_id: UUID) -> Job:
    job = jobs_of(owner_id=owner_id).filter(id=job_id).first()
    if job is None:
        raise KinoError(errors.GENERATION_NOT_FOUND)
    return job


def member_start_images(owner_id: UUID) -> list[str]:
    """The start images stored for the member's jobs."""
    return [name for name in jobs_of(owner_id=owner_id).values_list("start_image", flat=True) if name]


def engine_stats() -> list[dict[str, Any]]:
    """Per engine: jobs by state, and how long successful runs took (start to finish)."""
    run_time = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    done = Q(state=Job.State.SUCCEEDED)
    rows = (
        Job.objects.exclude(engine_name="")
        .values("engine_name", "engine_version")
        .annotate(
            total=Count("id"),
            succeeded=Count("id", filter=done),
            failed=Count("id", filter=Q(state=Job.State.FAILED)),
            cancelled=Count("id", filter=Q(state=Job.State.CANCELLED)),
            running=Count("id", filter=Q(state=Job.State.RUNNING)),
            avg_run=Avg(run_time, filter=done),
            max_run=Max(run_time, filter=done),
        )
        .order_by("-total")
    )
    return [
        {
            **row,
            "avg_run_s": row["avg_run"].total_seconds() if row["avg_run"] else None,
            "max_run_s": row["max_run"].total_seconds() if row["max_run"] else None,
        }
        for row in rows
    ]


def queue_depths() -> dict[str, int]:
    return {state: Job.objects.filter(state=state).count() for state in (Job.State.QUEUED, Job.State.RUNNING)}


def stage_seconds(*, latest: int = 500) -> list[dict[str, Any]]:
    """Where the time goes: per stage, the mean and worst seconds over the latest finished jobs."""
    per_stage: dict[str, list[float]] = {}
    recent = Job.objects.filter(state__in=Job.FINISHED).exclude(timings=[]).order_by("-finished_at")
    for timings in recent.values_list("timings", flat=True)[:latest]:
        for timing in timings:
            per_stage.setdefault(timing["stage"], []).append(float(timing["seconds"]))
    return [
        {"stage": stage, "jobs": len(values), "mean_s": sum(values) / len(values), "max_s": max(values)}
        for stage, values in per_stage.items()
    ]
