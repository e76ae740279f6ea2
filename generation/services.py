"""Writes of the generation app on the request side: ask for a clip, cancel, retry, forget.

Running a job is the worker's (`generation.pipeline`); the two meet only in the job's row
and its transitions (`generation.jobs`). A request dispatches the worker's task by name,
on commit, so this module never imports the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Protocol
from uuid import UUID

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.public import Standing, member_hold, member_standing
from cameos.public import (
    CAMEO_NOT_FOUND,
    CameoCast,
    ConsentDecision,
    cameo_face_embeddings,
    cameo_handles,
    cameo_handles_in_prompt,
    cameo_uses_record,
    consent_decide,
    consent_error,
)
from config.errors import TOKEN_NOT_VALID, KinoError, upload_refused
from config.events import event_send_on_commit
from feed.public import video_ref_for_extension, video_ref_for_remix, videos_cast
from generation import errors
from generation.cast import cast_notes
from generation.engines.families import engine_accepts_start_image, engine_can_extend, engine_max_duration_s
from generation.enhance import Enhanced, prompt_enhance
from generation.jobs import job_dispatch, job_event_data, job_finish
from generation.models import DailyUsage, Job
from mediakit.images import ImageRejected, image_sanitize
from moderation.public import MODERATION_UNAVAILABLE, ScreeningUnavailable, image_screen, text_require

logger = logging.getLogger(__name__)


def user_tier(user_id: UUID) -> str:
    return tier_of(member_standing(user_id=user_id))


def tier_of(standing: Standing | None) -> str:
    if standing is not None and standing.is_teen:
        return "teen"
    if standing is not None and settings.GENERATION_PRIORITY_GROUP in standing.groups:
        return "priority"
    return "standard"


def _today() -> date:
    return timezone.now().date()


@dataclass(frozen=True)
class EnqueueResult:
    job: Job
    created: bool  # False: the Idempotency-Key named a job made earlier


class AskLike(Protocol):
    """What `job_new` reads of an ask (a ClipAsk, a storyboards.StoryboardAsk)."""

    @property
    def prompt(self) -> str: ...
    @property
    def duration_s(self) -> int: ...
    @property
    def aspect(self) -> str: ...
    @property
    def quality(self) -> str: ...
    @property
    def seed(self) -> int | None: ...
    @property
    def enhance(self) -> bool: ...


@dataclass(frozen=True)
class ClipAsk:
    """What a member asks for, as the API parsed it."""

    prompt: str
    duration_s: int
    aspect: str
    quality: str
    seed: int | None = None
    start_image: UploadedFile | None = None
    remix_of_id: UUID | None = None
    extend_of_id: UUID | None = None
    cameo_handles: tuple[str, ...] = ()
    enhance: bool = True


def generation_enqueue(*, user_id: UUID, ask: ClipAsk, idempotency_key: str = "") -> EnqueueResult:
    """Check the request, take its seconds of quota atomically, and queue the job once the row commits."""
    standing = member_standing(user_id=user_id)
    teen = standing is not None and standing.is_teen
    tier = tier_of(standing)
    _ask_check(user_id, ask, teen=teen, tier=tier)
    handles = cameo_handles_of(ask.prompt, ask.cameo_handles)
    if ask.extend_of_id is not None:  # the source's cast goes on in the extension's first frames
        handles = tuple(dict.fromkeys([*handles, *carried_handles([ask.extend_of_id], field="extend_of")]))
    decisions = consent_checked(user_id, handles, ask.prompt, teen=teen)
    casts = [d.cast for d in decisions if d.cast is not None]
    start_image = None
    if ask.start_image is not None:
        start_image = _start_image_checked(ask.start_image, user_id, [c.cameo_id for c in casts])
    kind = Job.Kind.EXTENSION if ask.extend_of_id is not None else Job.Kind.GENERATION
    job = job_new(
        user_id,
        tier,
        ask,
        kind=kind,
        casts=casts,
        idempotency_key=idempotency_key,
        remix_of_id=ask.remix_of_id,
        extend_of_id=ask.extend_of_id,
    )
    return job_enqueue(job, decisions=decisions, start_image=start_image)


def job_new(
    user_id: UUID,
    tier: str,
    ask: ClipAsk | AskLike,
    *,
    kind: str,
    casts: list[CameoCast],
    idempotency_key: str,
    **fields: Any,
) -> Job:
    """A job row (unsaved) of `kind` for what the member asked (its prompt, length, size and seed),
    with its cast; `fields` are the kind's own (a remix's parent, a storyboard's shots...)."""
    seed = ask.seed if ask.seed is not None else int(np.random.default_rng().integers(0, 2**31 - 1))
    return Job(
        user_id=user_id,
        kind=kind,
        prompt=ask.prompt.strip(),
        duration_s=ask.duration_s,
        aspect=ask.aspect,
        quality=ask.quality,
        seed=seed,
        enhance=ask.enhance,
        cameo_ids=[cast.cameo_id for cast in casts],
        cameo_handles=[cast.handle for cast in casts],
        tier=tier,
        priority=tier == "priority",
        idempotency_key=idempotency_key,
        **fields,
    )


def job_enqueue(
    job: Job, *, decisions: tuple[ConsentDecision, ...] = (), start_image: ContentFile | None = None
) -> EnqueueResult:
    """Save `job` (checked, not yet saved) once its seconds of quota are taken, and queue it on commit;
    the earlier job instead when its Idempotency-Key was seen."""
    user_id, idempotency_key = job.user_id, job.idempotency_key
    with transaction.atomic():
        if not member_hold(user_id=user_id):  # deleted while asking: nothing of theirs may be written
            raise KinoError(TOKEN_NOT_VALID)
        earlier = _earlier_job(user_id, idempotency_key, job.kind)
        if earlier is not None:
            return EnqueueResult(job=earlier, created=False)
        usage = _quota_take(user_id, job.tier, job.duration_s)
        # The usage row's lock serializes this member's requests: a repeat that raced us finds our job now.
        earlier = _earlier_job(user_id, idempotency_key, job.kind)
        if earlier is not None:
            return EnqueueResult(job=earlier, created=False)
        job.quota_day = usage.day
        _job_insert(job, start_image)
        cameo_uses_record(
            user_id=user_id, decisions=decisions, stage="request", job_id=job.id, prompt=job.prompt
        )
        DailyUsage.objects.filter(pk=usage.pk).update(seconds=F("seconds") + job.duration_s)
        # The "queued" event goes out before the job is dispatched, so a fast worker's events follow it.
        event_send_on_commit(user_id=user_id, event_type="generation.queued", data=job_event_data(job))
        transaction.on_commit(partial(job_dispatch, job_id=job.id, priority=job.priority), robust=True)
    logger.info("generation.enqueued", extra={"job_id": str(job.id), "tier": job.tier, "kind": job.kind})
    return EnqueueResult(job=job, created=True)


def _earlier_job(user_id: UUID, idempotency_key: str, kind: str) -> Job | None:
    """The job an earlier request with this key made; a key used for another kind of job is a
    conflict (a client reusing keys across endpoints), never that other job."""
    if not idempotency_key:
        return None
    earlier = Job.objects.filter(user_id=user_id, idempotency_key=idempotency_key).first()
    if earlier is not None and earlier.kind != kind:
        raise KinoError(errors.IDEMPOTENCY_CONFLICT, "This Idempotency-Key was used for another kind of job.")
    return earlier


def _job_insert(job: Job, start_image: ContentFile | None) -> None:
    if start_image is not None:
        job.start_image.save("start.webp", start_image, save=False)
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError:
        # The same key from a request that began on another day's quota row (around midnight).
        if job.start_image:
            job.start_image.delete(save=False)
        raise KinoError(errors.IDEMPOTENCY_CONFLICT) from None


def _ask_check(user_id: UUID, ask: ClipAsk, *, teen: bool, tier: str) -> None:
    prompt_check(ask.prompt, teen=teen)
    duration_check(ask.duration_s, tier=tier)
    if ask.extend_of_id is not None and (ask.remix_of_id is not None or ask.start_image is not None):
        raise KinoError(errors.EXTEND_AND_REMIX, field="extend_of")
    if ask.remix_of_id is not None:
        video_ref_for_remix(viewer_id=user_id, video_id=ask.remix_of_id)  # a visible post that allows it
    if ask.extend_of_id is not None:
        if not engine_can_extend():
            raise KinoError(errors.EXTEND_UNSUPPORTED, field="extend_of")
        video_ref_for_extension(viewer_id=user_id, video_id=ask.extend_of_id)
    if ask.start_image is not None and not engine_accepts_start_image():
        raise KinoError(errors.START_IMAGE_UNSUPPORTED, field="start_image")


def prompt_check(prompt: str, *, teen: bool, field: str = "prompt") -> None:
    """A prompt that says something, within the length, that text policy lets through."""
    if not prompt.strip():
        raise KinoError(errors.PROMPT_EMPTY, field=field)
    if len(prompt.strip()) > settings.GENERATION_PROMPT_MAX_CHARS:
        message = f"The prompt is longer than {settings.GENERATION_PROMPT_MAX_CHARS} characters."
        raise KinoError(errors.PROMPT_TOO_LONG, message, field=field)
    text_require(prompt.strip(), kind="prompt", field=field, teen=teen)


def duration_check(seconds: int, *, tier: str, field: str = "duration_s") -> None:
    """A length the member's tier allows (teens are capped lower) and the engine can make."""
    longest = settings.GENERATION_TIERS[tier]["max_duration"]
    if seconds > longest:
        raise KinoError(
            errors.DURATION_OVER_TIER, f"Your clips can be at most {longest} seconds.", field=field
        )
    engine_longest = engine_max_duration_s(settings.GENERATION_FPS)
    if engine_longest is not None and seconds > engine_longest:
        message = f"This server's video model makes clips of at most {engine_longest:g} seconds."
        raise KinoError(errors.DURATION_UNSUPPORTED, message, field=field)


def cameo_handles_of(prompt: str, handles: Sequence[str]) -> tuple[str, ...]:
    """The cameos a request casts: the API's `cameos` list, then the prompt's @handles, each once."""
    named = [handle.strip().removeprefix("@").lower() for handle in handles]
    return tuple(dict.fromkeys([*named, *cameo_handles_in_prompt(prompt)]))


def carried_handles(video_ids: list[UUID], *, field: str) -> tuple[str, ...]:
    """The handles of the cameos cast in videos that a new clip is made from (an extension's source, a
    stitch's parts): their likeness is in the new clip, so their consent is asked again. A cameo
    deleted since refuses the new clip (`cameo_not_found`)."""
    cast = videos_cast(video_ids)
    handles = cameo_handles(cameo_ids=cast)
    if len(handles) < len(cast):
        raise KinoError(CAMEO_NOT_FOUND, "A cameo in this video was deleted by its owner.", field=field)
    return tuple(handles[cameo_id] for cameo_id in cast)


def consent_checked(
    user_id: UUID, handles: tuple[str, ...], prompt: str, *, teen: bool, field: str = "cameos"
) -> tuple[ConsentDecision, ...]:
    """Consent for every cameo cast (at most 2), or KinoError for the first refusal (under `field`). A
    refusal is written to the cameo's usage log, so its owner sees who tried (and was turned away)."""
    decisions = consent_decide(user_id=user_id, handles=handles, prompt=prompt, teen=teen)
    refused = [d for d in decisions if not d.allowed]
    if refused:
        cameo_uses_record(user_id=user_id, decisions=decisions, stage="request", prompt=prompt.strip())
        logger.info(
            "generation.cameo_refused",
            extra={"user_id": str(user_id), "code": str(refused[0].error), "handle": refused[0].handle},
        )
        error = consent_error(refused[0])
        raise KinoError(error.error, str(error.detail), field=field)
    return decisions


def _start_image_checked(upload: UploadedFile, user_id: UUID, cameo_ids: list[UUID]) -> ContentFile:
    """The sanitized start image, once likeness screening passed it: a public figure's face, or any real
    person's face that is not one of the request's consented cameos (`cameo_ids`), is refused."""
    try:
        webp = image_sanitize(
            upload,
            max_bytes=settings.GENERATION_START_IMAGE_MAX_BYTES,
            max_pixels=settings.GENERATION_START_IMAGE_MAX_PIXELS,
            size=settings.GENERATION_START_IMAGE_SIDE,
            square=False,  # the render fits it to the clip's own shape
        )
    except ImageRejected as exc:
        raise upload_refused(exc, "start_image") from None
    allowed_faces = list(cameo_face_embeddings(cameo_ids=cameo_ids).values()) if cameo_ids else []
    try:
        verdict = image_screen(
            webp, purpose="start_image", allowed_faces=allowed_faces, subject_kind="user", subject_id=user_id
        )
    except ScreeningUnavailable:
        raise KinoError(MODERATION_UNAVAILABLE, field="start_image") from None
    if verdict.blocked and verdict.error is not None:
        raise KinoError(verdict.error, field="start_image")
    return ContentFile(webp)


def _quota_take(user_id: UUID, tier: str, seconds: int) -> DailyUsage:
    """Lock the member's usage row for today (serializing their concurrent requests) and check the caps."""
    limits = settings.GENERATION_TIERS[tier]
    day = _today()
    DailyUsage.objects.bulk_create([DailyUsage(user_id=user_id, day=day)], ignore_conflicts=True)
    usage = DailyUsage.objects.select_for_update().get(user_id=user_id, day=day)
    left = max(0, limits["daily_seconds"] - usage.seconds)
    if seconds > left:
        message = f"You have {left} of today's {limits['daily_seconds']} seconds of video left."
        raise KinoError(errors.QUOTA_EXCEEDED, message)
    if Job.objects.filter(user_id=user_id, state__in=Job.ACTIVE).count() >= limits["active"]:
        message = f"At most {limits['active']} generations can be queued or running at once."
        raise KinoError(errors.TOO_MANY_ACTIVE, message)
    return usage


def generation_cancel(*, job: Job) -> Job:
    """A queued job is cancelled at once and never reaches the GPU; a running one stops at its next step."""
    if job.state in Job.FINISHED:
        raise KinoError(errors.JOB_FINISHED, f"The job has already {job.state}.")
    queued = (Job.State.QUEUED,)
    cancelled = job_finish(
        job.id, Job.State.CANCELLED, from_states=queued, refund=True, cancel_requested=True
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
        shot=0,
        stage="",
        timings=[],
        cancel_requested=False,  # a stop from another app stays: the job ends blocked again
        error_code="",
        error_message="",
        started_at=None,
        finished_at=None,
        heartbeat_at=None,
    )
    if retried:
        transaction.on_commit(partial(job_dispatch, job_id=job.id, priority=job.priority), robust=True)
    return bool(retried)


def generation_delete(*, job: Job) -> None:
    """Forget a finished job (its draft stays in the drafts); a job still active must be cancelled first."""
    if job.state in Job.ACTIVE:
        raise KinoError(errors.JOB_ACTIVE)
    if job.start_image:
        job.start_image.delete(save=False)
    job.delete()


def enhance_preview(*, user_id: UUID, prompt: str, cameo_handles: tuple[str, ...] = ()) -> Enhanced:
    """What the enhancer would make of a prompt, with the preferences of the cameos named that the
    member may use (the others are left out, and nothing is logged: a preview casts nobody)."""
    standing = member_standing(user_id=user_id)
    teen = standing is not None and standing.is_teen
    prompt_check(prompt, teen=teen)
    decisions = consent_decide(
        user_id=user_id, handles=cameo_handles_of(prompt, cameo_handles), prompt=prompt, teen=teen
    )
    casts = tuple(d.cast for d in decisions if d.allowed and d.cast is not None)
    return prompt_enhance(prompt.strip(), cast_notes=cast_notes(casts))
