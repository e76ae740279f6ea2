"""The collaborative vectors: implicit-feedback matrix factorisation (implicit's ALS) over what
members did with posts, retrained every RECOMMENDER_ALS_RETRAIN_S by a worker, and blended into the
vectors ANN searches.

Confidence per (member, video): likes and remixes weigh most (creating is the goal), shares and
long watches less; reports, "see less" and skips are negatives (implicit's ALS reads a negative
confidence as "prefers not"), a report the strongest of them.

The blend: a video's behaviour becomes a direction in content space, the content of what is watched
by the people ALS says watch it (`blended`). Its ANN vector moves from its content vector
toward that direction by a share that grows with its audience (RECOMMENDER_BLEND_MAX at most,
half of it at RECOMMENDER_BLEND_HALF_AT members), so a new post is found by its content at once
and an established one by behaviour too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from scipy.sparse import csr_matrix

from feed.public import interactions_since
from moderation.public import video_reports_since
from recommender.models import COLLAB_DIMENSIONS, CollabModel, UserFactors, VideoFactors, VideoVector
from recommender.vectors import as_array, from_send

logger = logging.getLogger(__name__)

CONFIDENCE = {
    "liked": 4.0,
    "like": 4.0,
    "remixed": 8.0,
    "share": 3.0,
    "see_less": -4.0,
    "skip": -0.5,
    "reported": -8.0,
}
WATCH_MS_PER_POINT = 10_000  # a watch_progress event counts watch_ms / this, at most WATCH_MAX
WATCH_MAX = 2.0
INTERACTIONS_MAX = 5_000_000  # per source, newest first
WRITE_CHUNK = 2000


@dataclass(frozen=True)
class Matrix:
    """Members x videos of summed confidences, and who each row and column is."""

    users: list[UUID]
    videos: list[UUID]
    values: csr_matrix  # float32 [len(users), len(videos)]
    audience: np.ndarray  # distinct members with a positive interaction, per video


def _confidence(kind: str, watch_ms: int) -> float:
    if kind == "watch_progress":
        return min(watch_ms / WATCH_MS_PER_POINT, WATCH_MAX)
    return CONFIDENCE.get(kind, 0.0)


def interactions_matrix(rows: Sequence[tuple[UUID, UUID, str, int]], known: set[UUID]) -> Matrix:
    """The matrix of `rows` over the videos in `known` (posts with a vector row)."""
    users: dict[UUID, int] = {}
    videos: dict[UUID, int] = {}
    r, c, v = [], [], []
    for user_id, video_id, kind, watch_ms in rows:
        weight = _confidence(kind, watch_ms)
        if weight and video_id in known:
            r.append(users.setdefault(user_id, len(users)))
            c.append(videos.setdefault(video_id, len(videos)))
            v.append(weight)
    values = csr_matrix((np.array(v, np.float32), (r, c)), shape=(len(users), len(videos)), dtype=np.float32)
    values.sum_duplicates()
    audience = np.asarray((values > 0).sum(axis=0)).ravel()
    return Matrix(list(users), list(videos), values, audience)


def als_fit(values: csr_matrix, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(user factors [users, K], item factors [videos, K]) of implicit's ALS on the CPU."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    # implicit runs its own threads; BLAS threads on top of them only contend (implicit's advice).
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=COLLAB_DIMENSIONS,
            regularization=settings.RECOMMENDER_ALS_REGULARIZATION,
            iterations=settings.RECOMMENDER_ALS_ITERATIONS,
            random_state=seed,
        )
        model.fit(values, show_progress=False)
    return np.asarray(model.user_factors, np.float32), np.asarray(model.item_factors, np.float32)


def blended(content: np.ndarray, matrix: Matrix, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Unit ANN vectors [n, 384] of the trained videos (content vectors [n, 384] in matrix order).

    A member's taste in content space is the mean content of what they engaged with (P [users, 384]);
    the factors carry it to a video as the tastes of those ALS says would engage with it:
    behaviour = items @ (usersᵀ @ P), [n, K] @ [K, 384]. A fitted map from factors to content would
    learn each video's own content back once there are fewer videos than factors."""
    positive = matrix.values.maximum(0).tocsr()
    row_sums = np.asarray(positive.sum(axis=1)).ravel()
    tastes = (positive.multiply(1 / np.maximum(row_sums, 1e-12)[:, None]).tocsr() @ content).astype(
        np.float32
    )
    behaviour = items @ (users.T @ tastes)
    behaviour /= np.maximum(np.linalg.norm(behaviour, axis=1, keepdims=True), 1e-12)
    audience = matrix.audience
    share = settings.RECOMMENDER_BLEND_MAX * audience / (audience + settings.RECOMMENDER_BLEND_HALF_AT)
    mixed = (1 - share)[:, None] * content + share[:, None] * behaviour
    return (mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def collab_train() -> str:
    """Train on the last RECOMMENDER_ALS_DAYS of interactions and write every member's factors and
    every trained video's collab and blended vectors; returns the model's version. Videos trained
    before but absent now fall back to their content vectors."""
    started, clock = timezone.now(), time.perf_counter()
    since = started - timedelta(days=settings.RECOMMENDER_ALS_DAYS)
    content = _content_vectors()
    matrix = interactions_matrix(_interactions(since), set(content))
    version = f"als-{started:%Y%m%d%H%M%S%f}-{matrix.values.nnz}"
    moved = 0
    if matrix.values.nnz:
        users, items = als_fit(matrix.values)
        vectors = blended(np.stack([content[v] for v in matrix.videos]), matrix, users, items)
        _factors_write(matrix.users, users, version)
        _video_factors_write(matrix.videos, items, version)
        moved = _vectors_write(matrix.videos, vectors)
    _stale_reset(started)
    seconds = time.perf_counter() - clock
    CollabModel.objects.create(
        version=version,
        users=len(matrix.users),
        videos=len(matrix.videos),
        interactions=matrix.values.nnz,
        seconds=seconds,
        params={
            "vectors_moved": moved,
            "factors": COLLAB_DIMENSIONS,
            "iterations": settings.RECOMMENDER_ALS_ITERATIONS,
            "regularization": settings.RECOMMENDER_ALS_REGULARIZATION,
            "days": settings.RECOMMENDER_ALS_DAYS,
        },
    )
    logger.info("recommender.collab_trained", extra={"version": version, "seconds": round(seconds, 2)})
    return version


def _interactions(since: datetime) -> list[tuple[UUID, UUID, str, int]]:
    """What members did with posts since `since` (feed's events, likes, remixes) and their reports."""
    reports = video_reports_since(since=since, limit=INTERACTIONS_MAX)
    return [
        *interactions_since(since=since, limit=INTERACTIONS_MAX),
        *((user_id, video_id, "reported", 0) for user_id, video_id in reports),
    ]


def _content_vectors() -> dict[UUID, np.ndarray]:
    """Every embedded post's content vector, read as halfvec's binary form (a text parse of 100,000
    vectors of 384 numbers would take longer than the training)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT video_id, halfvec_send(content) FROM recommender_videovector WHERE content IS NOT NULL"
        )
        return {video_id: from_send(raw) for video_id, raw in cursor.fetchall()}


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.5g}" for x in vector.tolist()) + "]"


def _factors_write(user_ids: list[UUID], factors: np.ndarray, version: str) -> None:
    now = timezone.now()
    for start in range(0, len(user_ids), WRITE_CHUNK):
        UserFactors.objects.bulk_create(
            [
                UserFactors(user_id=user_id, collab=factor, model_version=version, updated_at=now)
                for user_id, factor in zip(
                    user_ids[start : start + WRITE_CHUNK], factors[start : start + WRITE_CHUNK], strict=True
                )
            ],
            update_conflicts=True,
            unique_fields=["user_id"],
            update_fields=["collab", "model_version", "updated_at"],
        )


_VIDEO_FACTORS_UPSERT = """
INSERT INTO recommender_videofactors (video_id, collab, model_version, updated_at)
SELECT d.video_id, d.collab::halfvec, %s, %s FROM unnest(%s::uuid[], %s::text[]) AS d(video_id, collab)
ON CONFLICT (video_id) DO UPDATE
   SET collab = excluded.collab, model_version = excluded.model_version, updated_at = excluded.updated_at
"""


def _video_factors_write(video_ids: list[UUID], items: np.ndarray, version: str) -> None:
    """Every trained post's item factors (a table without a vector index: cheap to rewrite whole)."""
    for start in range(0, len(video_ids), WRITE_CHUNK):
        end = start + WRITE_CHUNK
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _VIDEO_FACTORS_UPSERT,
                [version, timezone.now(), video_ids[start:end], [_literal(f) for f in items[start:end]]],
            )


_VECTORS_UPDATE = """
UPDATE recommender_videovector AS v SET vector = d.vector::halfvec, updated_at = %s
  FROM unnest(%s::uuid[], %s::text[]) AS d(video_id, vector)
 WHERE v.video_id = d.video_id
"""


def _vectors_write(video_ids: list[UUID], vectors: np.ndarray) -> int:
    """The blended vectors that moved (cosine to the stored one under 1 - RECOMMENDER_BLEND_EPSILON):
    each row rewritten is a new HNSW entry, and between two trainings most blends barely move. One
    UPDATE per chunk, each its own transaction, so serving never waits on one long lock. Returns how
    many moved."""
    stored = _stored_vectors(video_ids)
    moved = [
        i
        for i, video_id in enumerate(video_ids)
        if video_id not in stored
        or float(stored[video_id] @ vectors[i]) < 1 - settings.RECOMMENDER_BLEND_EPSILON
    ]
    for start in range(0, len(moved), WRITE_CHUNK):
        chunk = moved[start : start + WRITE_CHUNK]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _VECTORS_UPDATE,
                [timezone.now(), [video_ids[i] for i in chunk], [_literal(vectors[i]) for i in chunk]],
            )
    return len(moved)


def _stored_vectors(video_ids: list[UUID]) -> dict[UUID, np.ndarray]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT video_id, halfvec_send(vector) FROM recommender_videovector"
            " WHERE video_id = ANY(%s::uuid[]) AND vector IS NOT NULL",
            [list(video_ids)],
        )
        return {video_id: from_send(raw) for video_id, raw in cursor.fetchall()}


def _stale_reset(started: datetime) -> None:
    """Posts this training did not see: their factors go, their vectors are their content again."""
    stale = VideoFactors.objects.filter(updated_at__lt=started)
    VideoVector.objects.filter(video_id__in=stale.values("video_id"), content__isnull=False).update(
        vector=F("content"), updated_at=timezone.now()
    )
    stale.delete()


def als_scores(user_id: UUID, video_ids: Sequence[UUID]) -> np.ndarray:
    """Plain ALS scores (user factors . item factors) of `video_ids` for the member, in order: 0 for
    a video or a member the last training did not see."""
    user = UserFactors.objects.filter(user_id=user_id).values_list("collab", flat=True).first()
    scores = np.zeros(len(video_ids), np.float32)
    if user is None:
        return scores
    factors = dict(
        VideoFactors.objects.filter(video_id__in=list(video_ids)).values_list("video_id", "collab")
    )
    u = as_array(user)
    for i, video_id in enumerate(video_ids):
        if video_id in factors:
            scores[i] = float(as_array(factors[video_id]) @ u)
    return scores
