"""Reads of the generation app, scoped to the job's owner."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from config.errors import NotFoundError
from generation.models import Job


def jobs_of(*, user: Any) -> QuerySet[Job]:
    return Job.objects.filter(user=user)


def job_get_for_owner(*, actor: Any, job_id: UUID) -> Job:
    job = jobs_of(user=actor).filter(id=job_id).first()
    if job is None:
        raise NotFoundError("No such generation.", code="generation_not_found")
    return job
