"""What other apps may use of `moderation`: these names and nothing else (import-linter holds it)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from mediakit.sampling import MediaUnreadable, clip_from_file
from moderation.decisions import REASON_CODES, Outcome, outcome_listener_register
from moderation.errors import (
    ACTION_NOT_APPLICABLE,
    LIKENESS_PUBLIC_FIGURE,
    LIKENESS_REAL_PERSON,
    LIKENESS_UNCONSENTED_CAMEO,
    MODERATION_UNAVAILABLE,
    TEXT_PUBLIC_FIGURE,
    TEXT_REFUSED,
)
from moderation.labels import LabelListener, label_listener_register, labels_carry, labels_for
from moderation.likeness.faces import faces_find, image_decode
from moderation.likeness.landmarks import Pose, face_crop, faces_posed, poses_described
from moderation.likeness.loader import ScreeningUnavailable
from moderation.likeness.registry import (
    CameoFaceHit,
    cameo_faces_nearest_register,
    faces_nearest,
    figure_register,
)
from moderation.likeness.screen import LikenessVerdict, Match, clip_screen, image_screen
from moderation.likeness.voices import audio_decode, voice_embed, voice_match
from moderation.reports import report_file
from moderation.subjects import SubjectHandler, SubjectView, subject_handler_register
from moderation.text import TextKind, TextVerdict, text_check, text_judge, text_require, texts_judge
from moderation.text.categories import text_category_scores, text_embed

__all__ = [
    "ACTION_NOT_APPLICABLE",
    "LIKENESS_PUBLIC_FIGURE",
    "LIKENESS_REAL_PERSON",
    "LIKENESS_UNCONSENTED_CAMEO",
    "MODERATION_UNAVAILABLE",
    "REASON_CODES",
    "TEXT_PUBLIC_FIGURE",
    "TEXT_REFUSED",
    "CameoFaceHit",
    "LabelListener",
    "LikenessVerdict",
    "Match",
    "MediaUnreadable",
    "Outcome",
    "Pose",
    "ScreeningUnavailable",
    "SubjectHandler",
    "SubjectView",
    "TextKind",
    "TextVerdict",
    "audio_decode",
    "cameo_faces_nearest_register",
    "clip_from_file",
    "clip_screen",
    "face_crop",
    "faces_find",
    "faces_nearest",
    "faces_posed",
    "figure_register",
    "image_decode",
    "image_screen",
    "label_listener_register",
    "labels_carry",
    "labels_for",
    "outcome_listener_register",
    "poses_described",
    "report_file",
    "subject_handler_register",
    "text_category_scores",
    "text_check",
    "text_embed",
    "text_judge",
    "text_require",
    "texts_judge",
    "video_reports_by",
    "video_reports_since",
    "voice_embed",
    "voice_match",
]


def _video_reports(since: datetime) -> Any:
    from moderation.models import Report, SubjectKind

    return Report.objects.filter(subject_kind=SubjectKind.VIDEO, created_at__gte=since)


def video_reports_by(
    *, reporter_ids: list[UUID], video_ids: list[UUID], since: datetime
) -> list[tuple[UUID, UUID, datetime]]:
    """(reporter, video, when) of the reports these members filed on these videos since `since`: the
    recommender's ranker learns from them as strong negatives. One query."""
    reports = _video_reports(since).filter(reporter_id__in=reporter_ids, subject_id__in=video_ids)
    return list(reports.values_list("reporter_id", "subject_id", "created_at"))


def video_reports_since(*, since: datetime, limit: int) -> list[tuple[UUID, UUID]]:
    """(reporter, video) of the newest `limit` video reports since `since`: the recommender's ALS
    trains on them as its strongest negatives. One query."""
    reports = _video_reports(since).order_by("-created_at")
    return list(reports.values_list("reporter_id", "subject_id")[:limit])
