"""A job's state transitions, shared by the requests (`services`) and the worker (`pipeline`).

A job's life: `queued` → `running` → `succeeded` | `failed` | `cancelled` | `blocked`.
Every transition is a conditional UPDATE, so concurrent workers, retries, cancels and
stops from other apps settle in the database. Events go out once the change commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis import RedisError

from accounts.public import WorkStop
from config.errors import ErrorCode
from config.events import event_send, event_send_on_commit
from generation.models import DailyUsage, Job

logger = logging.getLogger(__name__)

RUN_TASK = "generation.run"  # the worker's task, named, so the request side never imports it


def job_event_data(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "kind": job.kind,
        "state": job.state,
        "stage": job.stage or None,
        "step": job.step,
        "steps": job.steps,
        "percent": job.percent,
        "eta_s": job.eta_s,
        "attempts": job.attempts,
        "timings": job.timings,
        "enhanced_prompt": job.enhanced_prompt or None,
        "unmapped": job.unmapped,
        "shot": job.shot or None,
        "error_code": job.error_code or None,
        "video_id": str(job.video_id) if job.video_id else None,
    }


def job_event_send(job: Job, event_type: str) -> None:
    """Tell the owner's devices now; best effort: a channel-layer hiccup loses an event, never a job."""
    try:
        event_send(user_id=job.user_id, event_type=event_type, data=job_event_data(job))
    except (OSError, RedisError):
        logger.warning("generation.event_lost", extra={"job_id": str(job.id), "type": event_type})


def job_dispatch(*, job_id: UUID, priority: bool = False) -> None:
    """Hand the job's task to the broker. A broker that fails is logged, never raised: the request
    that made the job has committed, and `jobs_redispatch_lost` sends the task again later."""
    Job.objects.filter(id=job_id).update(dispatched_at=timezone.now())
    _task_send(job_id, priority)


def _task_send(job_id: UUID, priority: bool) -> None:
    """The broker's half of a dispatch (the sweeps have already stamped `dispatched_at`)."""
    queue = "generation.priority" if priority else "generation"
    try:
        current_app.tasks[RUN_TASK].apply_async(kwargs={"job_id": str(job_id)}, queue=queue)
    except (OSError, OperationalError, RedisError):
        logger.warning("generation.dispatch_failed", extra={"job_id": str(job_id)}, exc_info=True)


def _refund(job: Job) -> None:
    """Give the job's seconds of quota back, once."""
    if Job.objects.filter(id=job.id, quota_refunded=False).update(quota_refunded=True):
        DailyUsage.objects.filter(user_id=job.user_id, day=job.quota_day).update(
            seconds=Greatest(F("seconds") - job.duration_s, 0)
        )


def job_finish(
    job_id: UUID,
    state: str,
    *,
    from_states: tuple[str, ...],
    refund: bool,
    attempt: int | None = None,
    error: ErrorCode | None = None,
    message: str = "",
    **fields: Any,
) -> Job | None:
    """Move an active job to a final state; None if it had already moved on (or another attempt owns it)."""
    owned = Q(attempts=attempt) if attempt is not None else Q()
    if error is not None:
        fields.update(error_code=error.code, error_message=(message or error.message)[:500])
    with transaction.atomic():
        moved = Job.objects.filter(owned, id=job_id, state__in=from_states).update(
            state=state, finished_at=timezone.now(), **fields
        )
        if not moved:
            return None
        job = Job.objects.get(id=job_id)
        if refund:
            _refund(job)
        event_send_on_commit(user_id=job.user_id, event_type=f"generation.{state}", data=job_event_data(job))
    logger.info(
        "generation.finished", extra={"job_id": str(job_id), "state": state, "error": str(error or "")}
    )
    return job


# --- stops from other apps (registered into accounts' hook in GenerationConfig.ready) -------

_STOP_FILTERS: dict[str, Callable[[UUID], Q]] = {
    "user": lambda user_id: Q(user_id=user_id),
    # A video taken down or deleted: the remixes, extensions and stitches made from it.
    "video": lambda video_id: (
        Q(remix_of_id=video_id) | Q(extend_of_id=video_id) | Q(parts__contains=[video_id])
    ),
    # A withdrawn consent: every job casting the cameo (the GIN index on cameo_ids of active jobs).
    "cameo": lambda cameo_id: Q(cameo_ids__contains=[cameo_id]),
}


def jobs_stop(stop: WorkStop) -> int:
    """Queued jobs that depend on the subject end `blocked` now (the unit comes back); running ones
    are flagged and end `blocked` at their next step or stage. Returns how many were stopped."""
    if stop.subject not in _STOP_FILTERS:
        raise ValueError(f"generation cannot stop work by {stop.subject!r} yet")
    jobs = Job.objects.filter(_STOP_FILTERS[stop.subject](stop.subject_id), state__in=Job.ACTIVE)
    if stop.member_id is not None:
        jobs = jobs.filter(user_id=stop.member_id)
    stopped = 0
    for job_id in jobs.filter(state=Job.State.QUEUED).values_list("id", flat=True):
        queued = (Job.State.QUEUED,)
        stopped += (
            job_finish(job_id, Job.State.BLOCKED, from_states=queued, refund=True, error=stop.error)
            is not None
        )
    stopped += jobs.filter(state=Job.State.RUNNING, stop_code="").update(stop_code=stop.error.code)
    logger.info(
        "generation.stopped", extra={"subject": stop.subject, "count": stopped, "code": stop.error.code}
    )
    return stopped


# --- housekeeping, every worker's main process (settings.WORKER_PERIODIC) ------------------


def jobs_redispatch_lost() -> int:
    """Send again the tasks of jobs queued for longer than GENERATION_REDISPATCH_S since their last
    dispatch (a message lost by the broker, a dispatch that failed). Safe: a job is claimed by one
    conditional UPDATE, so an extra message finds it taken and steps aside."""
    lost = timezone.now() - timedelta(seconds=settings.GENERATION_REDISPATCH_S)
    # Never dispatched at all (made before dispatched_at existed, or its process died before the
    # commit's dispatch ran): judged by its age.
    never = Q(dispatched_at__isnull=True, created_at__lt=lost)
    candidates = Job.objects.filter(Q(dispatched_at__lt=lost) | never, state=Job.State.QUEUED)
    sent = 0
    for job_id, dispatched_at, priority in candidates.values_list("id", "dispatched_at", "priority")[:100]:
        # One sweeper wins the job: the others find dispatched_at moved on.
        if candidates.filter(id=job_id, dispatched_at=dispatched_at).update(dispatched_at=timezone.now()):
            _task_send(job_id, priority)
            sent += 1
    if sent:
        logger.warning("generation.redispatched", extra={"count": sent})
    return sent


def jobs_reap_stale() -> int:
    """Queue again the running jobs whose worker went silent (a lost host)."""
    stale = timezone.now() - timedelta(seconds=settings.GENERATION_STALE_S)
    candidates = Job.objects.filter(state=Job.State.RUNNING, heartbeat_at__lt=stale)
    reaped = 0
    for job_id in candidates.values_list("id", flat=True)[:100]:
        # Back to queued first: of several workers sweeping at once, one re-dispatches it.
        if candidates.filter(id=job_id).update(state=Job.State.QUEUED, dispatched_at=timezone.now()):
            job_event_send(Job.objects.get(id=job_id), "generation.queued")  # it waits again: say so
            _task_send(job_id, priority=True)  # it already waited its turn once
            reaped += 1
    if reaped:
        logger.warning("generation.reaped", extra={"count": reaped})
    return reaped
