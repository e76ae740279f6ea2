"""Writes of the feed app."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from feed.models import Video
from mediakit import EncodedClip

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DraftReceipt:
    video_id: UUID
    created: bool  # False when the job had already produced its draft (a retried job)


def draft_create_for_job(
    *,
    owner_id: UUID,
    job_id: UUID,
    prompt: str,
    media: EncodedClip,
    engine: str,
    remix_of_id: UUID | None = None,
) -> DraftReceipt:
    """The draft of a finished generation job; exactly one per job, however often this is called."""
    existing = Video.objects.filter(source_job_id=job_id).values_list("id", flat=True).first()
    if existing is not None:
        return DraftReceipt(video_id=existing, created=False)
    video = Video(
        owner_id=owner_id,
        source_job_id=job_id,
        prompt=prompt,
        width=media.width,
        height=media.height,
        duration_ms=media.duration_ms,
        fps=media.fps,
        has_audio=media.has_audio,
        engine=engine,
        remix_of_id=remix_of_id,
    )
    video.video.save("clip.mp4", ContentFile(media.mp4), save=False)
    video.poster.save("poster.jpg", ContentFile(media.poster_jpeg), save=False)
    try:
        with transaction.atomic():
            video.save()
    except IntegrityError:
        # Another attempt of the same job won the race; keep its draft, drop our files.
        video.video.delete(save=False)
        video.poster.delete(save=False)
        winner = Video.objects.values_list("id", flat=True).get(source_job_id=job_id)
        return DraftReceipt(video_id=winner, created=False)
    logger.info("draft.created", extra={"video_id": str(video.id), "job_id": str(job_id)})
    return DraftReceipt(video_id=video.id, created=True)
