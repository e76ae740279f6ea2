"""The public-figure registry's faces: reference photos embedded on save, and the faces seen in an
image or a clip matched against them in pgvector (Euclidean distance over an HNSW index).

Only figures that block (`PublicFigure.blocks`: living, or deceased with the estate's block
registered, and active) are matched; a figure whose own cameo the caller may use is left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from pgvector.django import L2Distance

from mediakit.images import ImageRejected, image_sanitize
from moderation.audit import audit_record
from moderation.likeness.faces import Face, faces_find, image_decode
from moderation.models import FigureFace, PublicFigure
from moderation.text.names import figure_names_changed

logger = logging.getLogger(__name__)

PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_SIDE = 1280  # a reference photo is kept (and embedded) at most this large on its longer side


@dataclass(frozen=True)
class FaceHit:
    """The registry entry nearest to one face seen, and how far."""

    face: int  # index into the faces asked about
    figure_id: UUID
    entry_id: UUID  # the FigureFace (reference photo)
    distance: float

    @property
    def matches(self) -> bool:
        return self.distance <= settings.MODERATION_FACE_MATCH_DISTANCE


def blocking_faces(allowed_cameo_ids: Iterable[UUID] = ()) -> QuerySet[FigureFace]:
    """Reference faces of the figures that block, less those whose own cameo the caller may use."""
    rows = FigureFace.objects.filter(
        Q(figure__active=True) & (Q(figure__status=PublicFigure.Status.LIVING) | Q(figure__estate_block=True))
    )
    allowed = list(allowed_cameo_ids)
    if allowed:
        rows = rows.exclude(figure__allowed_cameo_id__in=allowed)
    return rows


def faces_nearest(
    descriptors: Sequence[np.ndarray], *, allowed_cameo_ids: Iterable[UUID] = ()
) -> list[FaceHit]:
    """For each descriptor, the nearest blocking registry face (none when the registry is empty)."""
    rows = blocking_faces(allowed_cameo_ids)
    hits = []
    for index, descriptor in enumerate(descriptors):
        nearest = (
            rows.annotate(distance=L2Distance("embedding", np.asarray(descriptor, dtype=np.float32)))
            .order_by("distance")
            .values_list("id", "figure_id", "distance")
            .first()
        )
        if nearest is not None:
            entry_id, figure_id, distance = nearest
            hits.append(
                FaceHit(face=index, figure_id=figure_id, entry_id=entry_id, distance=round(distance, 4))
            )
    return hits


def _photo_sanitized(image: bytes) -> bytes:
    upload = SimpleUploadedFile("photo", image)
    try:
        return image_sanitize(
            upload, max_bytes=PHOTO_MAX_BYTES, max_pixels=PHOTO_MAX_PIXELS, size=PHOTO_SIDE, square=False
        )
    except ImageRejected as exc:
        raise ValidationError(exc.message, code=exc.code) from None


def photo_face(image: bytes) -> tuple[bytes, Face]:
    """The sanitized photo (WebP) and its one face; ValidationError for no face or several."""
    webp = _photo_sanitized(image)
    faces = faces_find(
        [image_decode(webp)],
        min_face=settings.MODERATION_IMAGE_MIN_FACE,
        threshold=settings.MODERATION_FACE_DETECT_THRESHOLD,
    )
    if not faces:
        raise ValidationError(
            "No face was found in this photo. "
            "Upload a clear photo of the person's face, looking at the camera.",
            code="no_face",
        )
    if len(faces) > 1:
        raise ValidationError(
            f"This photo shows {len(faces)} faces. Upload a photo in which only this person's face appears.",
            code="several_faces",
        )
    return webp, faces[0]


def figure_face_add(
    *, figure: PublicFigure, image: bytes, filename: str, actor: Any | None = None
) -> FigureFace:
    """Register a reference photo of `figure`: its one face embedded, the photo kept (as WebP).
    Refuses (ValidationError) a photo that is not an image or holds no face or several."""
    webp, face = photo_face(image)
    return figure_face_save(figure=figure, webp=webp, face=face, filename=filename, actor=actor)


@transaction.atomic
def figure_face_save(
    *, figure: PublicFigure, webp: bytes, face: Face, filename: str, actor: Any | None = None
) -> FigureFace:
    """Store a photo `photo_face` accepted (the admin checks it while validating its form)."""
    entry = FigureFace(figure=figure, embedding=face.descriptor.tolist(), box=list(face.box))
    stem = (filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "photo")[:60]
    entry.photo.save(f"{stem}.webp", ContentFile(webp), save=False)
    entry.save()
    audit_record(
        action="registry.face_add",
        actor_id=getattr(actor, "id", None),
        actor=getattr(actor, "username", ""),
        subject_kind="figure",
        subject_id=figure.id,
        after={"face_id": str(entry.id), "box": list(face.box)},
        detail={"figure": figure.name, "detector_score": face.score},
    )
    logger.info("moderation.figure_face_added", extra={"figure_id": str(figure.id), "face_id": str(entry.id)})
    return entry


def figure_register(*, name: str, aliases: Sequence[str] = (), roles: Sequence[str] = ()) -> UUID:
    """A living public figure by names alone (the registry admin adds photos and voices); once, by
    name. Audited; the text policy's index of names moves when it commits."""
    figure, made = PublicFigure.objects.get_or_create(
        name=name, defaults={"aliases": list(aliases), "roles": list(roles)}
    )
    if made:
        audit_record(
            action="registry.figure_add", subject_kind="figure", subject_id=figure.id, after={"name": name}
        )
        figure_names_changed()
    return figure.id


# --- registered cameos' faces (the cameos app sits above moderation: it registers its index) ---------


@dataclass(frozen=True)
class CameoFaceHit:
    """The registered cameo nearest to one face seen, and how far (Euclidean, dlib descriptors)."""

    face: int  # index into the faces asked about
    cameo_id: UUID
    distance: float

    @property
    def matches(self) -> bool:
        return self.distance <= settings.MODERATION_FACE_MATCH_DISTANCE


# (descriptors, cameos to leave out) -> for each descriptor with one, the nearest live cameo's face
CameoFacesNearest = Callable[[Sequence[np.ndarray], frozenset[UUID]], list[CameoFaceHit]]
_cameo_indexes: list[CameoFacesNearest] = []


def cameo_faces_nearest_register(index: CameoFacesNearest) -> CameoFacesNearest:
    """The cameos app's face index (CameosConfig.ready): output screening asks it whether a face in a
    clip is a registered cameo, leaving out the job's consented ones."""
    if index not in _cameo_indexes:
        _cameo_indexes.append(index)
    return index


def cameo_faces_nearest(
    descriptors: Sequence[np.ndarray], *, allowed_cameo_ids: frozenset[UUID] = frozenset()
) -> list[CameoFaceHit]:
    """For each descriptor, the nearest registered cameo face not among `allowed_cameo_ids` (none while
    no index is registered: a process without the cameos app)."""
    hits: dict[int, CameoFaceHit] = {}
    for index in _cameo_indexes:
        for hit in index(descriptors, allowed_cameo_ids):
            if hit.face not in hits or hit.distance < hits[hit.face].distance:
                hits[hit.face] = hit
    return [hits[face] for face in sorted(hits)]
