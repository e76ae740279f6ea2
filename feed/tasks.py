"""Background work of the feed app (queue `default`)."""

from __future__ import annotations

from uuid import UUID

from celery import shared_task
from django.conf import settings

from feed.export import EXPORT_TASK, export_build


# Late acks: a worker lost mid-build has its message delivered again; the claim (queued → running)
# makes that delivery a no-op, and the sweep fails the export (`export_interrupted`). The soft limit
# ends a build that runs too long as an ordinary failure (no zip left), before the hard limit kills it.
@shared_task(
    name=EXPORT_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=max(1, settings.CELERY_TASK_TIME_LIMIT - 30),
)
def export_build_task(*, export_id: str) -> str:
    return export_build(export_id=UUID(export_id))
