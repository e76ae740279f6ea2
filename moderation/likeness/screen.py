"""Likeness screening of what comes in (start images, avatars, cameo uploads) and what goes out
(every rendered clip: its faces at MODERATION_SCREEN_FPS and its voice track).

A verdict says why, in full, for moderators and the audit log (which face in which frame, which
registry entry, how far); the person blocked reads only its error code. Every verdict, and every
screening that could not be done, is recorded with `audit_record`. When a model cannot load or
screening errors or runs out of time, `ScreeningUnavailable` is raised: callers fail closed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, TypeVar
from uuid import UUID

import numpy as np
from django.conf import settings

from accounts.public import MemberImageKind, Refusal
from config.errors import ErrorCode
from mediakit import Clip
from mediakit.sampling import AUDIO_RATE, audio_mono_16k, frames_at
from moderation.audit import audit_record
from moderation.errors import (
    LIKENESS_PUBLIC_FIGURE,
    LIKENESS_REAL_PERSON,
    LIKENESS_UNCONSENTED_CAMEO,
    MODERATION_UNAVAILABLE,
)
from moderation.likeness import voices
from moderation.likeness.faces import Face, faces_described_alone, faces_find, image_decode
from moderation.likeness.loader import ScreeningUnavailable
from moderation.likeness.registry import CameoFaceHit, FaceHit, cameo_faces_nearest, faces_nearest

HitT = TypeVar("HitT", FaceHit, CameoFaceHit)

logger = logging.getLogger(__name__)

ImagePurpose = Literal["start_image", "avatar", "cameo"]
# A shared descriptor (faces.SAME_CHIP: at most ~0.1 from the face's own) this close to the match line
# is recomputed for the face itself.
SHARED_MARGIN = 0.15


@dataclass(frozen=True)
class Match:
    """One piece of evidence. A face: where (frame index and time for a clip, box) and the nearest
    registry entry; `figure_id` None is a real person's face that is no registered figure (it blocks
    a start image). A voice: the window of the track and the figure whose sample it matched."""

    kind: Literal["face", "voice"]
    figure_id: UUID | None
    # face: Euclidean distance of dlib descriptors to the nearest registry entry (-1.0: the registry has
    # none); voice: 1 - cosine similarity
    distance: float
    entry_id: UUID | None = None  # the FigureFace matched (faces)
    frame: int | None = None  # the clip's frame index (clips)
    time_s: float | None = None  # when in the clip (a voice window's start)
    end_s: float | None = None  # a voice window's end
    box: tuple[int, int, int, int] | None = None  # left, top, right, bottom (faces)
    cameo_id: UUID | None = None  # a registered cameo's face, not among the job's consented cameos

    def detail(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, UUID) else v) for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class LikenessVerdict:
    blocked: bool
    # what the member reads (likeness_public_figure / likeness_real_person / likeness_unconsented_cameo)
    error: ErrorCode | None
    matches: tuple[Match, ...]  # why (blocking evidence only)
    faces: int = 0  # faces seen
    frames: int = 0  # frames looked at
    voice_windows: int = 0  # stretches of speech heard
    seconds: float = 0.0  # how long screening took


def image_screen(
    image: bytes,
    *,
    purpose: ImagePurpose,
    allowed_faces: Sequence[np.ndarray] = (),
    subject_kind: str = "",
    subject_id: UUID | str = "",
) -> LikenessVerdict:
    """Screen an uploaded image (already through mediakit's upload guard). A public figure's face
    blocks any image; in a start image, so does any real face that is not among `allowed_faces` (the
    descriptors of cameos the requester may use: none until cameos exist, so today every face does)."""
    started = time.perf_counter()
    action = f"screen.{purpose}"
    try:
        faces = faces_find(
            [image_decode(image)],
            min_face=settings.MODERATION_IMAGE_MIN_FACE,
            threshold=settings.MODERATION_FACE_DETECT_THRESHOLD,
        )
    except ScreeningUnavailable as exc:
        _unavailable(action, subject_kind, subject_id, exc)
        raise
    faces, hits = _face_hits(faces, frozenset())
    public = tuple(_face_match(faces[hit.face], hit) for hit in hits if hit.matches)
    verdict = LikenessVerdict(blocked=False, error=None, matches=(), faces=len(faces), frames=1)
    if public:
        verdict = LikenessVerdict(True, LIKENESS_PUBLIC_FIGURE, public, len(faces), 1)
    elif purpose == "start_image":
        nearest = {hit.face: hit.distance for hit in hits}
        real = tuple(
            Match(kind="face", figure_id=None, distance=nearest.get(index, -1.0), box=face.box)
            for index, face in enumerate(faces)
            if not _allowed(face, allowed_faces)
        )
        if real:
            verdict = LikenessVerdict(True, LIKENESS_REAL_PERSON, real, len(faces), 1)
    verdict = _timed(verdict, started)
    _record(action, subject_kind, subject_id, verdict)
    return verdict


def clip_screen(
    clip: Clip,
    *,
    allowed_cameo_ids: frozenset[UUID] = frozenset(),
    subject_kind: str = "",
    subject_id: UUID | str = "",
) -> LikenessVerdict:
    """Screen a rendered clip: its faces at MODERATION_SCREEN_FPS and its voice track against the
    registry. A figure whose own cameo is among `allowed_cameo_ids` (the job's consented cameos) does
    not block. A registered cameo's face (the cameos app's index) that is not among them blocks too,
    as `likeness_unconsented_cameo` (a public figure's match, the graver, names the verdict)."""
    started = time.perf_counter()
    deadline = time.monotonic() + settings.MODERATION_SCREEN_TIMEOUT_S
    try:
        frames = frames_at(clip, settings.MODERATION_SCREEN_FPS)
        faces = faces_find(
            [frame.image for frame in frames],
            min_face=settings.MODERATION_CLIP_MIN_FACE,
            threshold=settings.MODERATION_FACE_DETECT_THRESHOLD,
            grey=True,
            deadline=deadline,
        )
        windows, voice_matches = _voice_screen(clip, allowed_cameo_ids, deadline)
    except ScreeningUnavailable as exc:
        _unavailable("screen.clip", subject_kind, subject_id, exc)
        raise
    faces, hits = _face_hits(faces, allowed_cameo_ids)
    face_matches = tuple(
        _face_match(
            faces[hit.face], hit, frames[faces[hit.face].image].index, frames[faces[hit.face].image].time_s
        )
        for hit in hits
        if hit.matches
    )
    cameo_matches = tuple(
        _cameo_match(
            faces[hit.face], hit, frames[faces[hit.face].image].index, frames[faces[hit.face].image].time_s
        )
        for hit in _cameo_hits(faces, allowed_cameo_ids)
        if hit.matches
    )
    matches = face_matches + voice_matches + cameo_matches
    error = LIKENESS_PUBLIC_FIGURE if face_matches or voice_matches else None
    verdict = LikenessVerdict(
        blocked=bool(matches),
        error=error or (LIKENESS_UNCONSENTED_CAMEO if cameo_matches else None),
        matches=matches,
        faces=len(faces),
        frames=len(frames),
        voice_windows=windows,
    )
    verdict = _timed(verdict, started)
    _record("screen.clip", subject_kind, subject_id, verdict)
    return verdict


def _face_hits(faces: list[Face], allowed_cameo_ids: frozenset[UUID]) -> tuple[list[Face], list[FaceHit]]:
    """Each face's nearest registry entry, asked once per descriptor. A face that shared the
    descriptor of a nearly identical one (faces.SAME_CHIP) and lands within SHARED_MARGIN of the match
    line is described on its own and asked again, so that sharing never decides a verdict."""
    hits = _nearest_per_descriptor(faces, allowed_cameo_ids)
    limit = settings.MODERATION_FACE_MATCH_DISTANCE
    doubtful = {
        hit.face for hit in hits if faces[hit.face].shared and abs(hit.distance - limit) <= SHARED_MARGIN
    }
    if not doubtful:
        return faces, hits
    faces = faces_described_alone(
        [face if i in doubtful else replace(face, shared=False) for i, face in enumerate(faces)]
    )
    return faces, _nearest_per_descriptor(faces, allowed_cameo_ids)


def _nearest_per_descriptor(faces: list[Face], allowed_cameo_ids: frozenset[UUID]) -> list[FaceHit]:
    return _per_descriptor(faces, faces_nearest, allowed_cameo_ids)


def _cameo_hits(faces: list[Face], allowed_cameo_ids: frozenset[UUID]) -> list[CameoFaceHit]:
    """Each face's nearest registered cameo outside the job's cast."""
    return _per_descriptor(faces, cameo_faces_nearest, allowed_cameo_ids)


def _per_descriptor(
    faces: list[Face],
    nearest: Callable[..., Sequence[HitT]],
    allowed_cameo_ids: frozenset[UUID],
) -> list[HitT]:
    """`nearest`'s hits for each face, asked once per descriptor (faces that share one share its hit)."""
    first: dict[int, int] = {}
    for index, face in enumerate(faces):
        first.setdefault(face.described, index)
    asked = list(first.values())
    found = {
        asked[hit.face]: hit
        for hit in nearest([faces[i].descriptor for i in asked], allowed_cameo_ids=allowed_cameo_ids)
    }
    return [
        replace(hit, face=index)
        for index, face in enumerate(faces)
        if (hit := found.get(first[face.described])) is not None
    ]


def _cameo_match(face: Face, hit: CameoFaceHit, frame: int, time_s: float) -> Match:
    return Match(
        kind="face",
        figure_id=None,
        distance=hit.distance,
        frame=frame,
        time_s=time_s,
        box=face.box,
        cameo_id=hit.cameo_id,
    )


def _voice_screen(
    clip: Clip, allowed_cameo_ids: frozenset[UUID], deadline: float
) -> tuple[int, tuple[Match, ...]]:
    """(windows of speech heard, matches) of the clip's voice track."""
    audio = audio_mono_16k(clip)
    if audio is None:
        return 0, ()
    if time.monotonic() > deadline:
        raise ScreeningUnavailable("voice screening ran out of time")
    try:
        segments = voices.voice_segments(audio, AUDIO_RATE)
        matches = []
        for start_s, end_s, embedding in segments:
            for figure_id, similarity in voices.voice_match(embedding, allowed_cameo_ids=allowed_cameo_ids):
                matches.append(
                    Match(
                        kind="voice",
                        figure_id=figure_id,
                        distance=round(1.0 - similarity, 4),
                        time_s=round(start_s, 2),
                        end_s=round(end_s, 2),
                    )
                )
    except (RuntimeError, OSError) as exc:  # the voice model failed to load (VoiceModelUnavailable) or run
        raise ScreeningUnavailable(f"voice screening failed: {exc}") from exc
    return len(segments), tuple(matches)


def _face_match(face: Face, hit: FaceHit, frame: int | None = None, time_s: float | None = None) -> Match:
    return Match(
        kind="face",
        figure_id=hit.figure_id,
        distance=hit.distance,
        entry_id=hit.entry_id,
        frame=frame,
        time_s=time_s,
        box=face.box,
    )


def _allowed(face: Face, allowed_faces: Iterable[np.ndarray]) -> bool:
    limit = settings.MODERATION_FACE_MATCH_DISTANCE
    return any(float(np.linalg.norm(face.descriptor - allowed)) <= limit for allowed in allowed_faces)


def _timed(verdict: LikenessVerdict, started: float) -> LikenessVerdict:
    return replace(verdict, seconds=round(time.perf_counter() - started, 3))


def _record(action: str, subject_kind: str, subject_id: UUID | str, verdict: LikenessVerdict) -> None:
    audit_record(
        action=action,
        subject_kind=subject_kind,
        subject_id=subject_id,
        reason_code=verdict.error.code if verdict.error else "",
        reason="blocked" if verdict.blocked else "passed",
        detail={
            "blocked": verdict.blocked,
            "matches": [match.detail() for match in verdict.matches],
            "faces": verdict.faces,
            "frames": verdict.frames,
            "voice_windows": verdict.voice_windows,
            "seconds": verdict.seconds,
        },
    )
    logger.info(
        "moderation.screened",
        extra={
            "action": action,
            "blocked": verdict.blocked,
            "faces": verdict.faces,
            "seconds": verdict.seconds,
        },
    )


def _unavailable(action: str, subject_kind: str, subject_id: UUID | str, exc: Exception) -> None:
    logger.error("moderation.screening_unavailable", extra={"action": action, "error": str(exc)})
    audit_record(
        action=action,
        subject_kind=subject_kind,
        subject_id=subject_id,
        reason_code=MODERATION_UNAVAILABLE.code,
        reason="screening unavailable",
        detail={"error": str(exc)[:500]},
    )


def avatar_check(image: bytes, kind: MemberImageKind) -> Refusal | None:
    """accounts' member image check: an avatar with a public figure's face is refused (fail closed)."""
    try:
        verdict = image_screen(image, purpose="avatar")
    except ScreeningUnavailable:
        return Refusal(MODERATION_UNAVAILABLE)
    return Refusal(verdict.error) if verdict.blocked and verdict.error else None
