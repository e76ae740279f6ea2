"""Writes of the generation app: asking for a clip, and turning a queued job into a draft.

A job's life: `queued` → `running` → `succeeded` | `failed` | `cancelled` | `blocked`.
Every transition is a conditional UPDATE, so concurrent workers, retries and cancels
settle in the database. A running attempt owns the job through a heartbeat: a job whose
heartbeat is older than GENERATION_STALE_S is taken for lost and may be claimed again,
at most GENERATION_MAX_ATTEMPTS times. The draft is unique per job (in `feed`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.errors import ConflictError, KinoError
from config.events import event_send, event_send_on_commit
from feed import selectors as feed_selectors
from feed.services import draft_create_for_job
from generation.engines.families import engine_accepts_start_image
from generation.models import DailyUsage, Job

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

DURATIONS = (4, 8, 12)
ASPECT_RATIOS = {"portrait": (9, 16), "landscape": (16, 9), "square": (1, 1)}


# --- asking for a clip -------------------------------------------------------------


def user_tier(user: User) -> str:
    if user.is_teen:
        return "teen"
    if user.groups.filter(name=settings.GENERATION_PRIORITY_GROUP).exists():
        return "priority"
    return "standard"


def _today() -> date:
    return timezone.now().date()


@dataclass(frozen=True)
class EnqueueResult:
    job: Job
    created: bool  # False: the Idempotency-Key named a job made earlier


def generation_enqueue(
    *,
    user: User,
    prompt: str,
    duration_s: int,
    aspect: str,
    quality: str,
    seed: int | None = None,
    start_image: UploadedFile | None = None,
    remix_of_id: UUID | None = None,
    cameo_handles: list[str] | None = None,
    idempotency_key: str = "",
) -> EnqueueResult:
    """Check the request, take one unit of quota atomically, and queue the job once the row commits."""
    prompt = prompt.strip()
    if not prompt:
        raise KinoError(
            "Describe the clip you want.",
            code="prompt_empty",
            fields={"prompt": [{"code": "prompt_empty", "message": "The prompt is empty."}]},
        )
    if cameo_handles:
        # Cameos (consented likenesses) arrive with their own issue; until then no handle can resolve.
        raise KinoError(
            "Cameos are not available yet.",
            code="cameos_unavailable",
            fields={"cameos": [{"code": "cameos_unavailable", "message": "Cameos are not available yet."}]},
        )
    if remix_of_id is not None:
        feed_selectors.video_get_for_viewer(actor=user, video_id=remix_of_id)  # 404 unless visible
    tier = user_tier(user)
    limits = settings.GENERATION_TIERS[tier]
    duration_s = min(duration_s, limits["max_duration"])
    if start_image is not None and not engine_accepts_start_image():
        message = "This server's video model cannot start from an image."
        raise KinoError(
            message,
            code="start_image_unsupported",
            fields={"start_image": [{"code": "start_image_unsupported", "message": message}]},
        )
    stored_image = _start_image_checked(start_image) if start_image is not None else None

    with transaction.atomic():
        if idempotency_key:
            earlier = Job.objects.filter(user=user, idempotency_key=idempotency_key).first()
            if earlier is not None:
                return EnqueueResult(job=earlier, created=False)
        day = _today()
        DailyUsage.objects.bulk_create([DailyUsage(user=user, day=day)], ignore_conflicts=True)
        # This lock serializes a user's concurrent requests: counts below cannot race.
        usage = DailyUsage.objects.select_for_update().get(user=user, day=day)
        if usage.used >= limits["daily"]:
            raise KinoError(
                f"You have used today's {limits['daily']} generations.",
                code="quota_exceeded",
                status_code=429,
            )
        if Job.objects.filter(user=user, state__in=Job.ACTIVE).count() >= limits["active"]:
            raise KinoError(
                f"At most {limits['active']} generations can be queued or running at once.",
                code="too_many_active",
                status_code=429,
            )
        if idempotency_key and Job.objects.filter(user=user, idempotency_key=idempotency_key).exists():
            raise ConflictError(
                "A request with this Idempotency-Key is in progress.", code="idempotency_conflict"
            )
        job = Job(
            user=user,
            prompt=prompt,
            duration_s=duration_s,
            aspect=aspect,
            quality=quality,
            seed=seed if seed is not None else int(np.random.default_rng().integers(0, 2**31 - 1)),
            remix_of_id=remix_of_id,
            tier=tier,
            priority=tier == "priority",
            idempotency_key=idempotency_key,
            quota_day=day,
        )
        if stored_image is not None:
            job.start_image.save("start.png", stored_image, save=False)
        job.save()
        DailyUsage.objects.filter(pk=usage.pk).update(used=F("used") + 1)
        # The "queued" event goes out before the job is dispatched, so a fast worker's events follow it.
        event_send_on_commit(user_id=user.id, event_type="generation.queued", data=job_event_data(job))
        transaction.on_commit(partial(job_dispatch, job_id=job.id, priority=job.priority))
    logger.info("generation.enqueued", extra={"job_id": str(job.id), "tier": tier})
    return EnqueueResult(job=job, created=True)


def _start_image_checked(upload: UploadedFile) -> Any:
    from accounts.images import ImageRejected, image_sanitize  # the same checks as avatars, larger output

    try:
        return image_sanitize(
            upload, max_bytes=settings.AVATAR_MAX_BYTES, max_pixels=settings.AVATAR_MAX_PIXELS, size=512
        )
    except ImageRejected as exc:
        raise KinoError(
            exc.message, code=exc.code, fields={"start_image": [{"code": exc.code, "message": exc.message}]}
        ) from None


def job_dispatch(*, job_id: UUID, priority: bool = False) -> None:
    from generation.tasks import job_run

    queue = "generation.priority" if priority else "generation"
    job_run.apply_async(kwargs={"job_id": str(job_id)}, queue=queue)


def job_event_data(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "state": job.state,
        "step": job.step,
        "steps": job.steps,
        "percent": job.percent,
        "eta_s": job.eta_s,
        "attempts": job.attempts,
        "error_code": job.error_code or None,
        "video_id": str(job.video_id) if job.video_id else None,
    }


def _refund(job: Job) -> None:
    """Give the quota unit back (system failures and cancellations), once."""
    if Job.objects.filter(id=job.id, quota_refunded=False).update(quota_refunded=True):
        DailyUsage.objects.filter(user_id=job.user_id, day=job.quota_day, used__gt=0).update(
            used=F("used") - 1
        )


def _finish(
    job_id: UUID,
    state: str,
    *,
    from_states: tuple[str, ...],
    refund: bool,
    attempt: int | None = None,
    **fields: Any,
) -> Job | None:
    """Move an active job to a final state; None if it had already moved on (or another attempt owns it)."""
    owned = Q(attempts=attempt) if attempt is not None else Q()
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
    return job


def generation_cancel(*, job: Job) -> Job:
    """A queued job is cancelled at once and never reaches the GPU; a running one stops at its next step."""
    if job.state in Job.FINISHED:
        raise ConflictError(f"The job has already {job.state}.", code="job_finished")
    cancelled = _finish(
        job.id, Job.State.CANCELLED, from_states=(Job.State.QUEUED,), refund=True, cancel_requested=True
    )
    if cancelled is not None:
        return cancelled
    Job.objects.filter(id=job.id, state=Job.State.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def generation_retry(*, job: Job) -> bool:
    """Staff: run a failed or cancelled job again from scratch (no quota is charged again)."""
    retried = Job.objects.filter(id=job.id, state__in=(Job.State.FAILED, Job.State.CANCELLED)).update(
        state=Job.State.QUEUED,
        attempts=0,
        step=0,
        cancel_requested=False,
        error_code="",
        error_message="",
        started_at=None,
        finished_at=None,
        heartbeat_at=None,
    )
    if retried:
        transaction.on_commit(partial(job_dispatch, job_id=job.id, priority=job.priority))
    return bool(retried)


def generation_delete(*, job: Job) -> None:
    """Forget a finished job (its draft stays in the drafts); a job still active must be cancelled first."""
    if job.state in Job.ACTIVE:
        raise ConflictError("Cancel the job before deleting it.", code="job_active")
    if job.start_image:
        job.start_image.delete(save=False)
    job.delete()


# --- running a job (in a generation worker) ----------------------------------------


class _Heartbeat(threading.Thread):
    """Keeps the job's heartbeat fresh while the engine computes, whatever a step costs."""

    def __init__(self, job_id: UUID, attempt: int) -> None:
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.job_id, self.attempt = job_id, attempt
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.GENERATION_HEARTBEAT_S):
                Job.objects.filter(id=self.job_id, attempts=self.attempt, state=Job.State.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            close_old_connections()


def _claim(job_id: UUID, worker: str) -> Job | None:
    """Take the job for this attempt: queued, or running with a stale heartbeat (its worker is gone)."""
    stale = timezone.now() - timedelta(seconds=settings.GENERATION_STALE_S)
    claimable = Q(state=Job.State.QUEUED) | Q(state=Job.State.RUNNING, heartbeat_at__lt=stale)
    now = timezone.now()
    claimed = Job.objects.filter(
        claimable, id=job_id, cancel_requested=False, attempts__lt=settings.GENERATION_MAX_ATTEMPTS
    ).update(
        state=Job.State.RUNNING,
        attempts=F("attempts") + 1,
        heartbeat_at=now,
        step=0,
        started_at=now,
        worker=worker[:200],
    )
    return Job.objects.select_related("user").get(id=job_id) if claimed else None


class _Superseded(Exception):
    """This attempt no longer owns the job (it was taken for lost and handed to another worker)."""


@dataclass(frozen=True)
class ExecuteOutcome:
    state: str  # the job's state after this call
    retry_in_s: float | None = None  # set when another attempt may still be alive: try again later


def job_execute(*, job_id: UUID, worker: str = "") -> ExecuteOutcome:
    """Run one attempt of a job. Safe to call any number of times, from any number of workers."""
    job = _claim(job_id, worker)
    if job is None:
        return _unclaimable(job_id)
    if not job.user.is_active:
        _finish(
            job.id,
            Job.State.BLOCKED,
            from_states=(Job.State.RUNNING,),
            refund=False,
            error_code="account_inactive",
            error_message="The account was deactivated.",
        )
        return ExecuteOutcome(Job.State.BLOCKED)

    from generation.engines import GenerationCancelled, engine_get

    attempt = job.attempts
    heartbeat = _Heartbeat(job.id, attempt)
    heartbeat.start()
    try:
        engine = engine_get()
        request = _request_for(job, engine)
        job.engine_name, job.engine_version, job.steps = engine.name[:200], engine.version, engine.steps
        job.width, job.height, job.num_frames = request.width, request.height, request.num_frames
        Job.objects.filter(id=job.id, attempts=attempt).update(
            engine_name=job.engine_name,
            engine_version=job.engine_version,
            steps=job.steps,
            width=job.width,
            height=job.height,
            num_frames=job.num_frames,
        )
        event_send(user_id=job.user_id, event_type="generation.running", data=job_event_data(job))

        def on_step(step: int, steps: int) -> None:
            still_ours = Job.objects.filter(
                id=job.id, attempts=attempt, state=Job.State.RUNNING, cancel_requested=False
            )
            if not still_ours.update(step=step, steps=steps, heartbeat_at=timezone.now()):
                owner = Job.objects.filter(id=job.id, attempts=attempt, state=Job.State.RUNNING)
                raise GenerationCancelled if owner.exists() else _Superseded
            job.step, job.steps = step, steps
            event_send(user_id=job.user_id, event_type="generation.progress", data=job_event_data(job))

        clip = engine.generate(request, on_step)
    except GenerationCancelled:
        return _after_cancel(job.id)
    except _Superseded:
        logger.warning("generation.superseded", extra={"job_id": str(job.id), "attempt": attempt})
        return ExecuteOutcome(Job.objects.values_list("state", flat=True).get(id=job.id))
    except _out_of_memory_errors() as exc:
        logger.warning("generation.out_of_memory", extra={"job_id": str(job.id), "attempt": attempt})
        return _after_system_error(job.id, attempt, "out_of_memory", str(exc))
    finally:
        heartbeat.stopped.set()

    from generation.media import clip_encode

    media = clip_encode(clip)
    # Screening (`moderation`) and watermark + C2PA + fingerprints (`provenance`) come here, in this
    # order, when their issues land; screening will fail closed.
    try:
        receipt = _with_retries(
            partial(
                draft_create_for_job,
                owner_id=job.user_id,
                job_id=job.id,
                prompt=job.prompt,
                media=media,
                engine=engine.name[:200],
                remix_of_id=job.remix_of_id,
            )
        )
    except OSError as exc:
        _finish(
            job.id,
            Job.State.FAILED,
            from_states=(Job.State.RUNNING,),
            refund=True,
            attempt=attempt,
            error_code="storage_unavailable",
            error_message=str(exc)[:500],
        )
        return ExecuteOutcome(Job.State.FAILED)
    done = _finish(
        job.id,
        Job.State.SUCCEEDED,
        from_states=(Job.State.RUNNING,),
        refund=False,
        attempt=attempt,
        video_id=receipt.video_id,
        step=F("steps"),
    )
    logger.info("generation.succeeded", extra={"job_id": str(job.id), "attempt": attempt})
    return ExecuteOutcome(done.state if done else Job.objects.values_list("state", flat=True).get(id=job.id))


def _with_retries(write: Any, *, tries: int = 4, first_wait_s: float = 0.5) -> Any:
    """Storage hiccups (OSError: disk, network, S3) are retried with backoff; the render is not redone."""
    import time

    for attempt in range(tries):
        try:
            return write()
        except OSError:
            if attempt == tries - 1:
                raise
            time.sleep(first_wait_s * 2**attempt)
    raise AssertionError("unreachable")


def job_fail_internal(*, job_id: UUID, message: str) -> None:
    """A bug stopped the job: it ends failed (the unit comes back) rather than running again."""
    _finish(
        job_id,
        Job.State.FAILED,
        from_states=Job.ACTIVE,
        refund=True,
        error_code="internal_error",
        error_message=message[:500],
    )


def _out_of_memory_errors() -> tuple[type[BaseException], ...]:
    import torch

    return (torch.cuda.OutOfMemoryError, MemoryError)


def _unclaimable(job_id: UUID) -> ExecuteOutcome:
    job = Job.objects.filter(id=job_id).first()
    if job is None or job.state in Job.FINISHED:
        return ExecuteOutcome(job.state if job else "deleted")
    if job.cancel_requested:
        return _after_cancel(job_id)
    if job.attempts >= settings.GENERATION_MAX_ATTEMPTS:
        _finish(
            job_id,
            Job.State.FAILED,
            from_states=Job.ACTIVE,
            refund=True,
            error_code="attempts_exhausted",
            error_message=f"Gave up after {job.attempts} attempts (the worker kept dying).",
        )
        return ExecuteOutcome(Job.State.FAILED)
    # Running, with a fresh heartbeat: another attempt may be alive. Look again once it would be stale.
    assert job.heartbeat_at is not None
    wait = (job.heartbeat_at - timezone.now()).total_seconds() + settings.GENERATION_STALE_S + 0.5
    return ExecuteOutcome(job.state, retry_in_s=max(0.5, wait))


def _after_cancel(job_id: UUID) -> ExecuteOutcome:
    done = _finish(job_id, Job.State.CANCELLED, from_states=Job.ACTIVE, refund=True)
    return ExecuteOutcome(done.state if done else Job.objects.values_list("state", flat=True).get(id=job_id))


def _after_system_error(job_id: UUID, attempt: int, code: str, message: str) -> ExecuteOutcome:
    if attempt >= settings.GENERATION_MAX_ATTEMPTS:
        _finish(
            job_id,
            Job.State.FAILED,
            from_states=(Job.State.RUNNING,),
            refund=True,
            error_code=code,
            error_message=message[:500],
        )
        return ExecuteOutcome(Job.State.FAILED)
    Job.objects.filter(id=job_id, attempts=attempt, state=Job.State.RUNNING).update(
        state=Job.State.QUEUED, error_code=code, error_message=message[:500]
    )
    return ExecuteOutcome(Job.State.QUEUED, retry_in_s=2.0 * attempt)


def _request_for(job: Job, engine: Any) -> Any:
    from generation.engines import GenerationRequest

    short = settings.GENERATION_SHORT_SIDE[job.quality]
    across, down = ASPECT_RATIOS[job.aspect]
    width, height = (short * across // down, short) if across >= down else (short, short * down // across)
    fps = settings.GENERATION_FPS
    width, height, frames = engine.fit(width, height, int(job.duration_s * fps) + 1)
    start_image = None
    if job.start_image:
        from PIL import Image, ImageOps

        with job.start_image.open("rb") as handle:
            start_image = np.asarray(ImageOps.fit(Image.open(handle).convert("RGB"), (width, height)))
    return GenerationRequest(
        prompt=job.prompt,
        width=width,
        height=height,
        num_frames=frames,
        fps=fps,
        seed=job.seed,
        start_image=start_image,
    )


def jobs_reap_stale() -> int:
    """Queue again the running jobs whose worker went silent (a lost host); called by every worker."""
    stale = timezone.now() - timedelta(seconds=settings.GENERATION_STALE_S)
    candidates = Job.objects.filter(state=Job.State.RUNNING, heartbeat_at__lt=stale)
    reaped = 0
    for job_id in candidates.values_list("id", flat=True)[:100]:
        # Back to queued first: of several workers sweeping at once, one re-dispatches it.
        if candidates.filter(id=job_id).update(state=Job.State.QUEUED):
            job_dispatch(job_id=job_id, priority=True)  # it already waited its turn once
            reaped += 1
    if reaped:
        logger.warning("generation.reaped", extra={"count": reaped})
    return reaped
