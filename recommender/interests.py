"""Interest vectors: 1-3 per member, each the running mean of a cluster of what they engaged with
(PinnerSage's idea: one average of everything liked lands between tastes and finds neither).

Updated on every positive event, one step at a time and with no batch job: the event's video vector
joins the nearest cluster when close enough (RECOMMENDER_INTEREST_JOIN), else opens one, and with
three already the two nearest merge to make room. Every event decays all weights a little
(RECOMMENDER_INTEREST_DECAY), so the weights say what the member cares about lately. "See less"
halves the weight of the cluster it falls in.

Cold start: topics the member chose (at signup or later, `topics_set`) seed the clusters with no
events; the first real events join or replace them. A member with neither gets none: the feed
fills from popular and fresh posts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import numpy as np
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.errors import KinoError
from feed.public import EventIn
from recommender import errors
from recommender.models import INTEREST_SLOTS, TOPIC_MAX, TOPICS_MAX, FeedProfile, UserVector, VideoVector
from recommender.vectors import as_array, content_embed, unit, vectors_of

logger = logging.getLogger(__name__)


# What an event says about a member's taste (a remix says most: making something is the goal).
EVENT_WEIGHTS = {"like": 1.0, "share": 1.0, "liked": 1.0, "remixed": 2.0}
WATCH_WEIGHT = 0.5  # a watch_progress event of at least RECOMMENDER_INTEREST_WATCH_MS
MASS_MAX = 50  # a cluster moves toward a new event as if it held at most this many
SEEN_TTL_S = 7 * 24 * 3600  # events re-sent within a week count once


@dataclass
class Clusters:
    """A member's clusters in memory: vectors [k, 384] (unit rows), weights [k], events [k]."""

    vectors: np.ndarray
    weights: np.ndarray
    events: np.ndarray

    @classmethod
    def of(cls, rows: Sequence[UserVector]) -> Clusters:
        if not rows:
            return cls(np.zeros((0, 384), np.float32), np.zeros(0), np.zeros(0, np.int64))
        return cls(
            np.stack([as_array(row.vector) for row in rows]),
            np.array([row.weight for row in rows], dtype=np.float64),
            np.array([row.events for row in rows], dtype=np.int64),
        )

    def add(self, vector: np.ndarray, weight: float) -> None:
        self.weights *= settings.RECOMMENDER_INTEREST_DECAY
        if len(self.weights):
            sims = self.vectors @ vector
            best = int(np.argmax(sims))
            if sims[best] >= settings.RECOMMENDER_INTEREST_JOIN:
                self._join(best, vector, weight)
                return
        if len(self.weights) >= INTEREST_SLOTS:
            self._merge_nearest()
        self.vectors = np.vstack([self.vectors, vector[None, :]])
        self.weights = np.append(self.weights, weight)
        self.events = np.append(self.events, 1)

    def demote(self, vector: np.ndarray) -> None:
        self.weights *= settings.RECOMMENDER_INTEREST_DECAY
        if len(self.weights):
            sims = self.vectors @ vector
            best = int(np.argmax(sims))
            if sims[best] >= settings.RECOMMENDER_INTEREST_JOIN:
                self.weights[best] *= 0.5

    def _join(self, i: int, vector: np.ndarray, weight: float) -> None:
        mass = min(max(int(self.events[i]), 1), MASS_MAX)
        self.vectors[i] = unit(self.vectors[i] * mass + vector * weight)
        self.weights[i] += weight
        self.events[i] += 1

    def _merge_nearest(self) -> None:
        sims = self.vectors @ self.vectors.T
        np.fill_diagonal(sims, -np.inf)
        i, j = divmod(int(np.argmax(sims)), len(self.weights))
        mass_i, mass_j = max(int(self.events[i]), 1), max(int(self.events[j]), 1)
        self.vectors[i] = unit(self.vectors[i] * mass_i + self.vectors[j] * mass_j)
        self.weights[i] += self.weights[j]
        self.events[i] += self.events[j]
        keep = np.arange(len(self.weights)) != j
        self.vectors, self.weights, self.events = self.vectors[keep], self.weights[keep], self.events[keep]


def interest_vectors(user_id: UUID) -> list[tuple[np.ndarray, float]]:
    """(unit vector, weight) of each of the member's clusters, heaviest first, weights summing to 1;
    [] for a member with no events and no topics."""
    rows = list(UserVector.objects.filter(user_id=user_id).order_by("-weight", "slot"))
    total = sum(row.weight for row in rows)
    if total <= 0:
        return []
    return [(as_array(row.vector), row.weight / total) for row in rows]


def interests_update(user_id: UUID, signals: Sequence[tuple[UUID, float]]) -> None:
    """Fold these (video, weight) signals into the member's clusters, in order; a negative weight
    demotes. Videos with no vector yet (embedding) are skipped."""
    vectors = _video_vectors([video_id for video_id, _ in signals])
    signals = [(video_id, weight) for video_id, weight in signals if video_id in vectors]
    if not signals:
        return
    with transaction.atomic():
        _lock(user_id)
        clusters = Clusters.of(list(UserVector.objects.filter(user_id=user_id).order_by("slot")))
        for video_id, weight in signals:
            if weight > 0:
                clusters.add(vectors[video_id], weight)
            else:
                clusters.demote(vectors[video_id])
        _store(user_id, clusters)


def _video_vectors(video_ids: list[UUID]) -> dict[UUID, np.ndarray]:
    """The videos' ANN vectors, read as `halfvec_send` bytes: a member's first events name up to 200,
    and parsing that many vectors from text cost more than the rest of the update."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT video_id, halfvec_send(vector) FROM {VideoVector._meta.db_table}"  # noqa: S608
            " WHERE video_id = ANY(%s::uuid[]) AND vector IS NOT NULL",
            [list(video_ids)],
        )
        rows = cursor.fetchall()
    vectors = vectors_of([raw for _, raw in rows])
    return {
        video_id: unit(vector)
        for (video_id, _), vector in zip(rows, vectors, strict=True)
        if vector is not None
    }


def _lock(user_id: UUID) -> None:
    """One update of a member's clusters at a time (their first events may come from two requests)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [user_id.int & 0x7FFF_FFFF_FFFF_FFFF])


def _store(user_id: UUID, clusters: Clusters) -> None:
    now = timezone.now()
    UserVector.objects.filter(user_id=user_id).delete()
    UserVector.objects.bulk_create(
        UserVector(
            user_id=user_id,
            slot=slot,
            vector=vector,
            weight=float(weight),
            events=int(events),
            updated_at=now,
        )
        for slot, (vector, weight, events) in enumerate(
            zip(clusters.vectors, clusters.weights, clusters.events, strict=True)
        )
    )


# --- the listeners ---------------------------------------------------------------------------------


def interests_on_events(user_id: UUID, rows: Sequence[EventIn]) -> None:
    """feed's view-events listener (on commit): likes, shares and long watches pull, "see less" pushes.
    A batch sent again (the client's retry) counts once: each event id is remembered for a week."""
    signals = [(row.video_id, weight) for row in _first_time(user_id, rows) if (weight := _weight(row))]
    if signals:
        interests_update(user_id, signals)


def _weight(row: EventIn) -> float:
    if row.kind == "see_less":
        return -1.0
    if row.kind == "watch_progress":
        return WATCH_WEIGHT if row.watch_ms >= settings.RECOMMENDER_INTEREST_WATCH_MS else 0.0
    return EVENT_WEIGHTS.get(row.kind, 0.0)


def _first_time(user_id: UUID, rows: Sequence[EventIn]) -> list[EventIn]:
    wanted = [row for row in rows if _weight(row)]
    if not wanted:
        return []
    try:
        from recommender.candidates import redis_client

        client = redis_client()
        with client.pipeline(transaction=False) as pipe:
            for row in wanted:
                pipe.set(f"kino:rec:interest:{user_id}:{row.client_event_id}", 1, nx=True, ex=SEEN_TTL_S)
            fresh = pipe.execute()
    except (redis.RedisError, OSError):
        logger.warning("recommender.interest_dedup_unavailable", exc_info=True)
        return wanted
    return [row for row, new in zip(wanted, fresh, strict=True) if new]


def interests_on_like(user_id: UUID, video_id: UUID) -> None:
    """feed's like listener (on commit of a new like)."""
    interests_update(user_id, [(video_id, EVENT_WEIGHTS["liked"])])


def interests_on_remix(creator_id: UUID, parent_id: UUID) -> None:
    """A member posted a remix: what they remixed is what they care about most."""
    interests_update(creator_id, [(parent_id, EVENT_WEIGHTS["remixed"])])


# --- cold start ------------------------------------------------------------------------------------


def _worded(text: str) -> bool:
    """Whether the text has a letter or a digit (not only marks, punctuation or zero-width spaces)."""
    return any(ch.isalnum() for ch in text)


def topics_clean(topics: object) -> list[str]:
    """The topics as stored (stripped, deduplicated, order kept), or 400 `feed_topics_invalid`."""
    if not isinstance(topics, list) or len(topics) > TOPICS_MAX:
        raise KinoError(errors.TOPICS_INVALID)
    cleaned: list[str] = []
    for topic in topics:
        if not isinstance(topic, str) or not 1 <= len(topic.strip()) <= TOPIC_MAX or not _worded(topic):
            raise KinoError(errors.TOPICS_INVALID)
        if topic.strip().lower() not in {seen.lower() for seen in cleaned}:
            cleaned.append(topic.strip())
    return cleaned


@transaction.atomic
def topics_set(*, user_id: UUID, topics: list[str]) -> list[str]:
    """The member's topics (cold start). They seed the interest clusters while the member has no
    events of their own; once they have, topics change nothing but the profile."""
    topics = topics_clean(topics)
    FeedProfile.objects.update_or_create(user_id=user_id, defaults={"topics": topics})
    _lock(user_id)
    if UserVector.objects.filter(user_id=user_id, events__gt=0).exists():
        return topics
    UserVector.objects.filter(user_id=user_id).delete()
    if topics:
        _store(user_id, _seed_clusters(content_embed(topics)))
    return topics


def _seed_clusters(vectors: np.ndarray) -> Clusters:
    """Up to three clusters of the topics' vectors (k-means, a few rounds: ten topics at most)."""
    k = min(INTEREST_SLOTS, len(vectors))
    centres = vectors[:k].copy()
    for _ in range(5):
        assign = np.argmax(vectors @ centres.T, axis=1)
        centres = np.stack(
            [unit(vectors[assign == i].sum(axis=0)) if (assign == i).any() else centres[i] for i in range(k)]
        )
    counts = np.bincount(np.argmax(vectors @ centres.T, axis=1), minlength=k)
    return Clusters(centres.astype(np.float32), counts / counts.sum(), np.zeros(k, np.int64))


def topics_on_signup(user_id: UUID, topics: list[str]) -> None:
    """accounts' signup hook: the topics a new member picked."""
    topics_set(user_id=user_id, topics=topics)


def topics_of(user_id: UUID) -> list[str]:
    return list(FeedProfile.objects.filter(user_id=user_id).values_list("topics", flat=True).first() or [])
