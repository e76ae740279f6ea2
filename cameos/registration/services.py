"""Registering a cameo: the challenge, the upload, its processing (a Celery task), the review of a
refusal as "already registered", and the raw uploads' retention.

Processing runs the checks of checks.py in stages, writing the stage and progress to the row and
telling the owner's devices (`cameo.registration` events); the first refusal ends it `failed` with
its code. A registration that passes becomes a Cameo (a person's: "only me" until its owner widens
it) with a few reference frames; the raw upload is deleted unless CAMEO_UPLOAD_RETENTION_DAYS keeps it.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from pgvector.django import CosineDistance, L2Distance
from PIL import Image
from redis.exceptions import RedisError

from accounts.public import username_exists
from cameos import errors
from cameos.models import Cameo, CameoReference, Registration
from cameos.registration import checks, uploads
from cameos.registration.checks import Refused
from cameos.registration.phrase import PhraseModelUnavailable
from config.errors import KinoError
from config.events import event_send
from config.storage import files_delete
from moderation.public import (
    MODERATION_UNAVAILABLE,
    MediaUnreadable,
    ScreeningUnavailable,
    audio_decode,
    clip_from_file,
    face_crop,
    faces_find,
    faces_nearest,
    faces_posed,
    image_decode,
    poses_described,
    report_file,
    text_require,
    voice_embed,
    voice_match,
)

logger = logging.getLogger(__name__)

TURNS = ("left", "right")
HANDLE_RE = re.compile(r"^[a-z0-9_.]{3,30}$")  # the usernames' pattern: a handle reads like one
CHARACTER_FPS = 1.0  # a character's clip is looked at once a second
CHARACTER_MIN_FACE = 0.08  # any real face in a character upload, even a small one, refuses it
REFERENCE_PX = 384  # a reference face crop's side
LIVE = ~Q(state=Cameo.State.DELETED)
REDISPATCH_S = 120  # a queued registration not claimed by then is sent to the workers again


# --- the challenge ---------------------------------------------------------------------------------


def challenge_draw() -> tuple[list[str], str]:
    """A random order of the two head turns and 4-6 random digits ("4 7 2 9 1")."""
    turns = list(TURNS) if secrets.randbelow(2) else list(reversed(TURNS))
    count = 4 + secrets.randbelow(3)
    return turns, " ".join(str(secrets.randbelow(10)) for _ in range(count))


def _handle_checked(handle: str) -> str:
    handle = handle.strip().lstrip("@").lower()
    if not HANDLE_RE.fullmatch(handle):
        raise KinoError(errors.HANDLE_INVALID, field="handle")
    text_require(handle, kind="username", field="handle")
    if username_exists(username=handle) or Cameo.objects.filter(LIVE, handle__iexact=handle).exists():
        raise KinoError(errors.HANDLE_TAKEN, field="handle")
    return handle


def registration_start(
    *, owner_id: UUID, kind: str, handle: str = "", display_name: str = "", personality: str = ""
) -> Registration:
    """Issue a challenge. A person may hold one live cameo (CAMEO_EXISTS); a character needs a free
    handle (HANDLE_TAKEN) and names the text policy allows."""
    if kind == Cameo.Kind.PERSON:
        if Cameo.objects.filter(LIVE, owner_id=owner_id, kind=Cameo.Kind.PERSON).exists():
            raise KinoError(errors.CAMEO_EXISTS)
        handle = display_name = personality = ""
    else:
        handle = _handle_checked(handle)
        if display_name:
            text_require(display_name, kind="display_name", field="display_name")
        if personality:
            text_require(personality, kind="bio", field="personality")
    turns, phrase = challenge_draw() if kind == Cameo.Kind.PERSON else ([], "")
    registration = Registration.objects.create(
        owner_id=owner_id,
        kind=kind,
        head_turns=turns,
        phrase=phrase,
        expires_at=timezone.now() + timedelta(seconds=settings.CAMEO_CHALLENGE_TTL_S),
        handle=handle,
        display_name=display_name.strip(),
        personality=personality.strip(),
    )
    logger.info("cameos.registration_started", extra={"registration_id": str(registration.id), "kind": kind})
    return registration


# --- the upload ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    video: Any = None  # the selfie (people) or a short clip (characters)
    voice: Any = None  # a separate voice sample reading the digits (people)
    photos: Sequence[Any] = ()  # 1-5 photos (characters)


def _upload_checked(
    registration: Registration, upload: Upload
) -> tuple[bytes | None, bytes | None, list[bytes]]:
    if registration.kind == Cameo.Kind.PERSON:
        if upload.video is None:
            raise KinoError(errors.UPLOAD_INVALID, "Upload your selfie video.", field="video")
        if upload.photos:
            raise KinoError(
                errors.UPLOAD_INVALID, "A person's cameo is registered from a video.", field="photos"
            )
    elif (upload.video is None) == (not upload.photos):
        raise KinoError(
            errors.UPLOAD_INVALID, "Upload a short video or a few photos (not both).", field="photos"
        )
    if len(upload.photos) > settings.CAMEO_PHOTOS_MAX:
        raise KinoError(
            errors.UPLOAD_INVALID, f"Upload at most {settings.CAMEO_PHOTOS_MAX} photos.", field="photos"
        )
    video = uploads.video_checked(upload.video) if upload.video is not None else None
    voice = uploads.voice_checked(upload.voice) if upload.voice is not None else None
    photos = [uploads.photo_checked(photo) for photo in upload.photos]
    return video, voice, photos


def registration_upload(*, owner_id: UUID, registration_id: UUID, upload: Upload) -> Registration:
    """Take the upload of a challenged registration (CHALLENGE_EXPIRED past its time) and queue its
    processing (on commit)."""
    from cameos.registration.selectors import registration_get_for_owner

    registration = registration_get_for_owner(owner_id=owner_id, registration_id=registration_id)
    if registration.state != Registration.State.CHALLENGED:
        raise KinoError(errors.REGISTRATION_STATE)
    if registration.expires_at <= timezone.now():
        Registration.objects.filter(id=registration.id, state=Registration.State.CHALLENGED).update(
            state=Registration.State.EXPIRED, error_code=errors.CHALLENGE_EXPIRED.code
        )
        raise KinoError(errors.CHALLENGE_EXPIRED)
    video, voice, photos = _upload_checked(registration, upload)
    with transaction.atomic():
        locked = Registration.objects.select_for_update().get(id=registration.id)
        if locked.state != Registration.State.CHALLENGED:  # two uploads at once: one wins
            raise KinoError(errors.REGISTRATION_STATE)
        if video is not None:
            locked.upload.save("video", ContentFile(video), save=False)
        if voice is not None:
            locked.voice_upload.save("voice", ContentFile(voice), save=False)
        locked.photos = [
            default_storage.save(f"cameos/registrations/{locked.id}/photo-{n}.webp", ContentFile(webp))
            for n, webp in enumerate(photos)
        ]
        locked.state, locked.stage, locked.progress = Registration.State.QUEUED, "queued", 0
        locked.uploaded_at = timezone.now()
        locked.save()
        transaction.on_commit(partial(_dispatch, locked.id), robust=True)
    _event(locked)
    logger.info("cameos.registration_uploaded", extra={"registration_id": str(locked.id)})
    return locked


def _dispatch(registration_id: UUID) -> None:
    from cameos.tasks import registration_process_task

    registration_process_task.apply_async(kwargs={"registration_id": str(registration_id)})


# --- processing ------------------------------------------------------------------------------------


def event_data(registration: Registration) -> dict[str, Any]:
    error = (
        {"code": registration.error_code, "message": registration.error_message}
        if registration.error_code
        else None
    )
    return {
        "id": str(registration.id),
        "state": registration.state,
        "stage": registration.stage,
        "progress": registration.progress,
        "error": error,
        "cameo_id": str(registration.cameo_id) if registration.cameo_id else None,
    }


def _event(registration: Registration) -> None:
    """Best effort: a channel-layer hiccup loses an event, never a registration (REST has the state)."""
    try:
        event_send(
            user_id=registration.owner_id, event_type="cameo.registration", data=event_data(registration)
        )
    except (OSError, RedisError):
        logger.warning("cameos.registration_event_lost", extra={"registration_id": str(registration.id)})


class _Run:
    """One processing of one registration: its stages write progress to the row as they go."""

    def __init__(self, registration: Registration) -> None:
        self.registration = registration
        self.timings: dict[str, float] = {}
        self.started = time.perf_counter()
        self.stage_started = self.started

    def _close(self) -> None:
        """The running stage's seconds, into the timings."""
        now = time.perf_counter()
        previous = self.registration.stage
        if previous and previous not in self.timings:
            self.timings[previous] = round(now - self.stage_started, 3)
        self.stage_started = now

    def stage(self, name: str, progress: int) -> None:
        self._close()
        self.registration.stage, self.registration.progress = name, progress
        # updated_at moves too: a processing registration that stops moving was lost with its worker.
        Registration.objects.filter(id=self.registration.id).update(
            stage=name, progress=progress, updated_at=timezone.now()
        )
        _event(self.registration)

    def finish(self, state: str, *, error: Refused | None = None, cameo: Cameo | None = None) -> None:
        self._close()
        registration = self.registration
        registration.state = state
        registration.progress = 100 if state == Registration.State.SUCCEEDED else registration.progress
        registration.error_code = error.error.code if error else ""
        registration.error_message = error.message[:500] if error else ""
        registration.cameo = cameo
        registration.timings = {**self.timings, "total": round(time.perf_counter() - self.started, 3)}
        registration.finished_at = timezone.now()
        registration.save(
            update_fields=[
                "state",
                "progress",
                "error_code",
                "error_message",
                "cameo",
                "conflict_cameo_id",
                "timings",
                "finished_at",
                "updated_at",
            ]
        )
        _event(registration)


def registration_process(*, registration_id: UUID) -> str:
    """The task's work: claim the queued registration, run its checks, store the cameo or the
    refusal. Answers the registration's final state ("" when it was not queued)."""
    claimable = Q(state=Registration.State.QUEUED) | Q(
        state=Registration.State.PROCESSING, updated_at__lt=_stale()
    )
    claimed = Registration.objects.filter(claimable, id=registration_id).update(
        state=Registration.State.PROCESSING, stage="decode", progress=5, updated_at=timezone.now()
    )
    if not claimed:
        return ""
    registration = Registration.objects.select_related("owner").get(id=registration_id)
    run = _Run(registration)
    _event(registration)
    try:
        cameo = (_person if registration.kind == Cameo.Kind.PERSON else _character)(run)
    except Refused as refusal:
        run.finish(Registration.State.FAILED, error=refusal)
        logger.info(
            "cameos.registration_refused",
            extra={"registration_id": str(registration_id), "code": refusal.error.code},
        )
    except (ScreeningUnavailable, PhraseModelUnavailable) as exc:
        # Fail closed: no check, no cameo. The member may try again later.
        run.finish(Registration.State.FAILED, error=Refused(MODERATION_UNAVAILABLE, str(exc)[:200]))
        logger.error("cameos.registration_unavailable", extra={"registration_id": str(registration_id)})
    else:
        run.finish(Registration.State.SUCCEEDED, cameo=cameo)
        logger.info(
            "cameos.registration_succeeded",
            extra={"registration_id": str(registration_id), "cameo_id": str(cameo.id), **run.timings},
        )
    finally:
        if settings.CAMEO_UPLOAD_RETENTION_DAYS <= 0:
            _uploads_delete(registration)
    return registration.state


@dataclass(frozen=True)
class Likeness:
    """What a person's upload showed: the face and voice embeddings and the reference crops."""

    face: np.ndarray
    voice: np.ndarray | None
    references: list[np.ndarray]


def _read(field: Any) -> bytes:
    with field.open("rb") as handle:
        return bytes(handle.read())


def _person(run: _Run) -> Cameo:
    registration = run.registration
    likeness = person_likeness(
        video=_read(registration.upload),
        voice=_read(registration.voice_upload) if registration.voice_upload else None,
        turns=registration.head_turns,
        phrase=registration.phrase,
        stage=run.stage,
    )
    run.stage("registered", 90)
    conflict = likeness_conflict(owner_id=registration.owner_id, face=likeness.face, voice=likeness.voice)
    if conflict is not None:
        registration.conflict_cameo_id = conflict
        raise Refused(errors.LIKENESS_ALREADY_REGISTERED)
    run.stage("store", 95)
    return _cameo_store(
        registration,
        handle=registration.owner.username,
        face=likeness.face,
        voice=likeness.voice,
        references=likeness.references,
    )


def person_likeness(
    *,
    video: bytes,
    voice: bytes | None,
    turns: Sequence[str],
    phrase: str,
    stage: Callable[[str, int], None] = lambda name, progress: None,
) -> Likeness:
    """Every check of a person's upload (faces, liveness, public figures, the digits and the voice);
    Refused with the first that fails. The bench calls this too."""
    try:
        clip = clip_from_file(video, fps=settings.CAMEO_LIVENESS_FPS, max_seconds=settings.CAMEO_VIDEO_MAX_S)
    except MediaUnreadable as exc:
        raise Refused(errors.UPLOAD_INVALID) from exc
    frames = list(clip.frames)
    stage("faces", 20)
    track = checks.one_face(faces_posed(frames, min_face=settings.CAMEO_MIN_FACE), len(frames))
    chosen = checks.described_frames(track)
    start = checks.start_yaw(track)
    face = checks.one_person(chosen, poses_described(frames, chosen), start)
    stage("public_figures", 40)
    if any(hit.matches for hit in faces_nearest([face])):
        raise Refused(errors.PUBLIC_FIGURE_BLOCKED)
    stage("liveness", 50)
    checks.liveness(track, turns)
    stage("phrase", 65)
    if voice is not None:
        try:
            sound: np.ndarray | None = audio_decode(voice)
        except ValidationError as exc:  # not audio after all
            raise Refused(errors.UPLOAD_INVALID) from exc
    else:
        sound = None if clip.audio is None else clip.audio.reshape(-1)
    embedding = None if sound is None else voice_embed(sound, 16_000)
    if embedding is None:
        raise Refused(errors.NO_SPEECH)
    checks.phrase(sound, phrase)
    stage("voice", 80)
    if voice_match(embedding):
        raise Refused(errors.PUBLIC_FIGURE_BLOCKED)
    frontal = sorted(chosen, key=lambda pose: abs(pose.yaw - start))[: settings.CAMEO_REFERENCES]
    references = [face_crop(frames[pose.image], pose, size=REFERENCE_PX) for pose in frontal]
    return Likeness(face=face, voice=embedding, references=references)


def likeness_conflict(*, owner_id: UUID, face: np.ndarray | None, voice: np.ndarray | None) -> UUID | None:
    """Another account's live cameo with this face (or, failing that, this voice), if any."""
    others = Cameo.objects.filter(LIVE).exclude(owner_id=owner_id)
    if face is not None:
        hit = (
            others.filter(face_embedding__isnull=False)
            .annotate(distance=L2Distance("face_embedding", face))
            .filter(distance__lte=settings.CAMEO_FACE_MATCH_DISTANCE)
            .order_by("distance")
            .values_list("id", flat=True)
            .first()
        )
        if hit is not None:
            return hit
    if voice is not None:
        return (
            others.filter(voice_embedding__isnull=False)
            .annotate(distance=CosineDistance("voice_embedding", voice))
            .filter(distance__lte=1.0 - settings.CAMEO_VOICE_MATCH_SIMILARITY)
            .order_by("distance")
            .values_list("id", flat=True)
            .first()
        )
    return None


def _character(run: _Run) -> Cameo:
    registration = run.registration
    if registration.photos:
        images = [image_decode(_read_name(name)) for name in registration.photos]
    else:
        try:
            clip = clip_from_file(
                _read(registration.upload), fps=CHARACTER_FPS, max_seconds=settings.CAMEO_VIDEO_MAX_S
            )
        except MediaUnreadable as exc:
            raise Refused(errors.UPLOAD_INVALID) from exc
        images = list(clip.frames)
    run.stage("faces", 40)
    if faces_find(images, min_face=CHARACTER_MIN_FACE, grey=True):
        raise Refused(errors.HUMAN_FACE_IN_CHARACTER)
    run.stage("store", 90)
    picks = np.linspace(0, len(images) - 1, min(len(images), settings.CAMEO_REFERENCES)).round().astype(int)
    references = [_fitted(images[i]) for i in sorted(set(picks.tolist()))]
    return _cameo_store(
        registration, handle=registration.handle, face=None, voice=None, references=references
    )


def _read_name(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return bytes(handle.read())


def _fitted(image: np.ndarray) -> np.ndarray:
    picture = Image.fromarray(image)
    picture.thumbnail((512, 512), Image.Resampling.LANCZOS)
    return np.asarray(picture)


def _webp(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="WEBP", quality=90)
    return out.getvalue()


def _cameo_store(
    registration: Registration,
    *,
    handle: str,
    face: np.ndarray | None,
    voice: np.ndarray | None,
    references: list[np.ndarray],
) -> Cameo:
    """The cameo and its reference images, in one transaction; the database settles a second live
    person cameo or a handle taken meanwhile."""
    try:
        with transaction.atomic():
            cameo = Cameo.objects.create(
                owner_id=registration.owner_id,
                kind=registration.kind,
                handle=handle,
                display_name=registration.display_name,
                personality=registration.personality,
                level=Cameo.Level.ONLY_ME,
                face_embedding=None if face is None else face.tolist(),
                voice_embedding=None if voice is None else voice.tolist(),
            )
            for position, image in enumerate(references):
                reference = CameoReference(cameo=cameo, position=position)
                reference.image.save("ref.webp", ContentFile(_webp(image)), save=False)
                reference.save()
    except IntegrityError as exc:
        person = registration.kind == Cameo.Kind.PERSON
        clash = Cameo.objects.filter(LIVE, owner_id=registration.owner_id, kind=Cameo.Kind.PERSON).exists()
        raise Refused(errors.CAMEO_EXISTS if person and clash else errors.HANDLE_TAKEN) from exc
    return cameo


def _uploads_delete(registration: Registration) -> None:
    """The raw upload (video, voice, photos) goes; the row keeps what processing found."""
    names = [f.name for f in (registration.upload, registration.voice_upload) if f.name]
    names += list(registration.photos)
    files_delete(names)  # a storage error is logged: it never replaces the registration's result
    if names:
        Registration.objects.filter(id=registration.id).update(upload="", voice_upload="", photos=[])


def _stale() -> Any:
    """Processing that has not moved for longer than a task may run: its worker was lost."""
    return timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def registrations_redispatch_lost() -> int:
    """Send the task again for registrations queued a while ago and never claimed (a message lost
    on its way), and for those a lost worker left processing. Safe: one conditional UPDATE claims a
    registration, so an extra message finds it taken and steps aside."""
    waited = timezone.now() - timedelta(seconds=REDISPATCH_S)
    lost = Registration.objects.filter(
        Q(state=Registration.State.QUEUED, updated_at__lt=waited)
        | Q(state=Registration.State.PROCESSING, updated_at__lt=_stale())
    )
    sent = 0
    for registration_id, updated_at in lost.values_list("id", "updated_at")[:100]:
        # One sweeper wins it: the others find updated_at moved on. Back to queued, so the task claims it.
        moved = lost.filter(id=registration_id, updated_at=updated_at).update(
            state=Registration.State.QUEUED, updated_at=timezone.now()
        )
        if moved:
            _dispatch(registration_id)
            sent += 1
    if sent:
        logger.warning("cameos.registrations_redispatched", extra={"count": sent})
    return sent


def registration_uploads_prune() -> int:
    """Delete the raw uploads processed more than CAMEO_UPLOAD_RETENTION_DAYS ago (a worker's hourly
    sweep; with retention 0 each upload went as soon as it was processed)."""
    days = settings.CAMEO_UPLOAD_RETENTION_DAYS
    if days <= 0:
        return 0
    old = timezone.now() - timedelta(days=days)
    stale = Registration.objects.filter(finished_at__lt=old).exclude(upload="", voice_upload="", photos=[])
    pruned = 0
    for registration in stale[:500]:
        _uploads_delete(registration)
        pruned += 1
    if pruned:
        logger.info("cameos.registration_uploads_pruned", extra={"count": pruned})
    return pruned


# --- review ----------------------------------------------------------------------------------------


def registration_review(*, owner_id: UUID, registration_id: UUID) -> UUID:
    """Ask moderators to review a refusal as already registered: an impersonation report on the
    cameo the likeness matched (reported, never allowed here). The report's id; once per cameo."""
    from cameos.registration.selectors import registration_get_for_owner

    registration = registration_get_for_owner(owner_id=owner_id, registration_id=registration_id)
    if (
        registration.error_code != errors.LIKENESS_ALREADY_REGISTERED.code
        or registration.conflict_cameo_id is None
    ):
        raise KinoError(errors.REVIEW_NOT_APPLICABLE)
    report_id = report_file(
        reporter_id=owner_id,
        subject_kind="cameo",
        subject_id=registration.conflict_cameo_id,
        reason="impersonation",
        text=(
            "A member's cameo registration matched this cameo's likeness; they say the likeness is "
            f"theirs (registration {registration.id})."
        ),
    )
    Registration.objects.filter(id=registration.id).update(review_requested=True)
    registration.review_requested = True
    logger.info("cameos.registration_review", extra={"registration_id": str(registration.id)})
    return report_id
