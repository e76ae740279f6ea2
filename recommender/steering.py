"""Steering: what a member said they want more or less of, and the videos they asked to see less of.

An instruction ("more cooking, less horror") is cut into clauses, each marked toward or away by its
first words, and each clause is embedded once, when it is set (`content_embed`: the space of the
videos' content vectors). A check-in answer adds clauses of its own for a while (`wellbeing`). A
`see_less` view event mutes that video's creator and pushes content near it down, for
RECOMMENDER_SEE_LESS_DAYS. The feed reads all of it per first page through `steer_terms`: extra ANN
queries, creators to leave out, and a re-rank term.

Toward clauses pass the text policy as a prompt would (the member's teen standing included): the feed
is never steered toward what the member could not ask Kino to make. Away clauses do not ("less gore"
is a wish for less of what the policy refuses); the eligibility filters hold whatever the steering.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.public import member_standing
from config.errors import KinoError
from feed.public import VIDEO_NOT_FOUND, EventIn, video_ref_for_viewer
from moderation.public import text_require
from recommender import errors
from recommender.candidates import vector_of
from recommender.models import SeeLess, SteerClause, Steering, VideoVector
from recommender.vectors import content_embed

logger = logging.getLogger(__name__)

TEXT_MAX = 200
# Clauses end at punctuation, at "but", and at "and" when the next words turn the direction
# ("cooking and baking" stays one clause; "cooking and less horror" is two).
_MARKERS = r"(?:no\s+more|less|fewer|no|not|without|avoid|stop|never|more|only|plus|extra)"
_SPLIT = re.compile(rf"[,;.!?\n]+|\s+but\s+|\s+(?:and|&)\s+(?={_MARKERS}\b)", re.IGNORECASE)
_AWAY = re.compile(
    r"^(?:no\s+more|less|fewer|no|not|without|avoid|stop(?:\s+showing)?|never|don'?t\s+show(?:\s+me)?)\b"
    r"\s*(?:of\s+)?",
    re.IGNORECASE,
)
_TOWARD = re.compile(
    r"^(?:more|only|plus|extra|show\s+me|give\s+me|i\s+want|i\s+like|lots\s+of)\b\s*(?:of\s+)?", re.IGNORECASE
)


@dataclass(frozen=True)
class Clause:
    text: str  # what the member wrote, without its marker ("horror" of "less horror")
    direction: str  # SteerClause.Direction


def clauses_parse(text: str) -> list[Clause]:
    """The instruction's clauses, in order, each toward or away (a clause with no marker is toward)."""
    clauses: list[Clause] = []
    for part in _SPLIT.split(text):
        part = part.strip()
        away = _AWAY.match(part)
        toward = _TOWARD.match(part) if away is None else None
        marker = away or toward
        body = part[marker.end() :].strip() if marker else part
        worded = any(ch.isalnum() for ch in body)  # not only marks or zero-width spaces
        if worded and body.lower() not in {c.text.lower() for c in clauses}:
            direction = SteerClause.Direction.AWAY if away else SteerClause.Direction.TOWARD
            clauses.append(Clause(body, direction))
    return clauses[: settings.RECOMMENDER_STEER_MAX_CLAUSES]


@dataclass(frozen=True)
class SteerTerms:
    """What steers one member's next pages (all empty when nothing does: `active` is False).

    The vectors are unit rows in the content vectors' space (VideoVector.content): compare them with
    the candidates' content vectors."""

    queries: tuple[np.ndarray, ...] = ()  # one extra ANN query per toward clause
    toward: np.ndarray | None = None  # the toward clauses' mean direction, unit length
    away: tuple[np.ndarray, ...] = ()  # away clauses and the videos asked to see less of
    muted_creators: frozenset[UUID] = frozenset()  # creators of see-less videos: leave them out
    toward_weight: float = field(default_factory=lambda: settings.RECOMMENDER_STEER_TOWARD_WEIGHT)
    away_weight: float = field(default_factory=lambda: settings.RECOMMENDER_STEER_AWAY_WEIGHT)
    away_floor: float = field(default_factory=lambda: settings.RECOMMENDER_STEER_AWAY_FLOOR)
    # The same vectors as [d, k] matrices, stacked once: `rerank` runs for every candidate batch.
    _toward_t: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _away_t: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.queries:
            object.__setattr__(self, "_toward_t", np.stack(self.queries).T.astype(np.float32))
        if self.away:
            object.__setattr__(self, "_away_t", np.stack(self.away).T.astype(np.float32))

    @property
    def active(self) -> bool:
        return bool(self.queries or self.away or self.muted_creators)

    def rerank(self, vectors: np.ndarray) -> np.ndarray:
        """Score adjustments [n] for candidates' unit content vectors [n, d], to add to the ranker's
        scores: + toward_weight x the best similarity to a toward clause, - away_weight x how far the
        closest away vector rises above `away_floor` (0 below it, 1 for the same content), so only
        content near what the member pushed away sinks."""
        rows = np.asarray(vectors, dtype=np.float32)
        adjust = np.zeros(len(rows), dtype=np.float32)
        if not len(rows):
            return adjust
        if self._toward_t is not None:
            adjust += self.toward_weight * (rows @ self._toward_t).max(axis=1)
        if self._away_t is not None:
            near = (rows @ self._away_t).max(axis=1)
            adjust -= self.away_weight * np.clip((near - self.away_floor) / (1 - self.away_floor), 0, None)
        return adjust


NO_TERMS = SteerTerms(toward_weight=0.0, away_weight=0.0, away_floor=0.0)


def _unit(rows: list[np.ndarray]) -> np.ndarray | None:
    if not rows:
        return None
    mean = np.mean(rows, axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 0 else None


# One round trip for all that steers a member: the clauses in force, then the latest see-less videos
# with the vector each pushes away (the one stored with it, else the video's content vector, when it
# was not embedded yet at the time). Vectors travel as `halfvec_send` bytes, read with numpy.
_TERMS = f"""
SELECT c.direction, NULL::uuid, halfvec_send(c.vector)
FROM {SteerClause._meta.db_table} c
WHERE c.user_id = %(user)s AND (c.expires_at IS NULL OR c.expires_at > %(now)s)
UNION ALL
(SELECT 'see_less', s.creator_id, halfvec_send(coalesce(
    s.vector, (SELECT v.content FROM {VideoVector._meta.db_table} v WHERE v.video_id = s.video_id)))
 FROM {SeeLess._meta.db_table} s
 WHERE s.user_id = %(user)s AND s.created_at >= %(since)s
 ORDER BY s.created_at DESC, s.id DESC
 LIMIT %(limit)s)
"""  # noqa: S608 (table names from the models; every value is a parameter)


def steer_terms(user_id: UUID) -> SteerTerms:
    """The member's steering now, for the feed's next first page: one indexed query, no embedding."""
    now = timezone.now()
    since = now - timedelta(days=settings.RECOMMENDER_SEE_LESS_DAYS)
    params = {"user": user_id, "now": now, "since": since, "limit": settings.RECOMMENDER_SEE_LESS_MAX}
    with connection.cursor() as cursor:
        cursor.execute(_TERMS, params)
        rows = cursor.fetchall()
    if not rows:
        return NO_TERMS
    toward: list[np.ndarray] = []
    away: list[np.ndarray] = []
    muted: set[UUID] = set()
    for kind, creator_id, raw in rows:
        if kind == "see_less":
            muted.add(creator_id)
        if raw is not None:
            (toward if kind == SteerClause.Direction.TOWARD else away).append(vector_of(raw))
    return SteerTerms(
        queries=tuple(toward), toward=_unit(toward), away=tuple(away), muted_creators=frozenset(muted)
    )


def _see_less_recent(user_id: UUID, now: datetime) -> QuerySet[SeeLess]:
    """The member's latest see-less videos in force, as `steer_terms` counts them."""
    since = now - timedelta(days=settings.RECOMMENDER_SEE_LESS_DAYS)
    recent = SeeLess.objects.filter(user_id=user_id, created_at__gte=since).order_by("-created_at", "-id")
    return recent[: settings.RECOMMENDER_SEE_LESS_MAX]


# --- writes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SteerClauseView:
    text: str
    direction: str
    source: str
    expires_at: datetime | None


@dataclass(frozen=True)
class SeeLessView:
    video_id: UUID
    creator_id: UUID
    created_at: datetime


@dataclass(frozen=True)
class SteerState:
    """What steers a member's feed, as they read it in `GET /feed/steer`."""

    text: str | None
    updated_at: datetime | None
    clauses: tuple[SteerClauseView, ...]
    see_less: tuple[SeeLessView, ...]


def steer_set(*, user_id: UUID, text: str) -> SteerState:
    """Replace the member's instruction with `text` (its clauses embedded in one batch); check-in
    clauses and see-less videos stay."""
    clauses = clauses_parse(text)
    if not clauses:
        raise KinoError(errors.STEER_EMPTY, field="text")
    standing = member_standing(user_id=user_id)
    toward = "; ".join(c.text for c in clauses if c.direction == SteerClause.Direction.TOWARD)
    text_require(toward, kind="prompt", field="text", teen=bool(standing and standing.is_teen))
    vectors = content_embed([c.text for c in clauses])
    with transaction.atomic():
        Steering.objects.update_or_create(user_id=user_id, defaults={"text": text.strip()})
        SteerClause.objects.filter(user_id=user_id, source=SteerClause.Source.INSTRUCTION).delete()
        SteerClause.objects.bulk_create(
            SteerClause(
                user_id=user_id,
                source=SteerClause.Source.INSTRUCTION,
                direction=clause.direction,
                text=clause.text,
                vector=vector.tolist(),
            )
            for clause, vector in zip(clauses, vectors, strict=True)
        )
    logger.info("recommender.steer_set", extra={"user_id": str(user_id), "clauses": len(clauses)})
    return steer_state(user_id=user_id)


def steer_reset(*, user_id: UUID) -> None:
    """Nothing steers the feed any more: the instruction, check-in answers and see-less videos go."""
    with transaction.atomic():
        Steering.objects.filter(user_id=user_id).delete()
        SteerClause.objects.filter(user_id=user_id).delete()
        SeeLess.objects.filter(user_id=user_id).delete()


def steer_state(*, user_id: UUID) -> SteerState:
    now = timezone.now()
    steering = Steering.objects.filter(user_id=user_id).first()
    clauses = SteerClause.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now), user_id=user_id
    ).order_by("created_at", "id")
    see_less = _see_less_recent(user_id, now)
    return SteerState(
        text=steering.text if steering else None,
        updated_at=steering.updated_at if steering else None,
        clauses=tuple(
            SteerClauseView(text, direction, source, expires_at)
            for text, direction, source, expires_at in clauses.values_list(
                "text", "direction", "source", "expires_at"
            )
        ),
        see_less=tuple(
            SeeLessView(*row) for row in see_less.values_list("video_id", "creator_id", "created_at")
        ),
    )


def see_less_record(user_id: UUID, events: Sequence[EventIn]) -> None:
    """feed's view-events listener: each `see_less` event mutes the video's creator and marks the
    video as content to push away. Idempotent (one row per member and video); the creator comes from
    the video's vector row (with its content vector), or from feed for a video not indexed yet."""
    video_ids = list(dict.fromkeys(e.video_id for e in events if e.kind == "see_less"))
    video_ids = video_ids[: settings.RECOMMENDER_SEE_LESS_MAX]
    if not video_ids:
        return
    indexed = VideoVector.objects.filter(video_id__in=video_ids).values_list(
        "video_id", "creator_id", "content"
    )
    known = {video_id: (creator_id, content) for video_id, creator_id, content in indexed}
    for video_id in set(video_ids) - set(known):
        try:
            known[video_id] = (video_ref_for_viewer(viewer_id=user_id, video_id=video_id).owner_id, None)
        except KinoError as exc:
            if exc.error != VIDEO_NOT_FOUND:
                raise
    SeeLess.objects.bulk_create(
        [
            SeeLess(user_id=user_id, video_id=v, creator_id=known[v][0], vector=known[v][1])
            for v in video_ids
            if v in known
        ],
        ignore_conflicts=True,
    )
