"""Candidates for a member's next snapshot, from several sources in ONE query.

Each source is a branch of a `UNION ALL` over `recommender_videovector`, every branch under the same
eligibility condition (`recommender.eligibility`), each with its own order and limit:

- `ann`: the nearest videos to each interest vector (and `steer`: to each steering instruction),
  through the HNSW index with pgvector's iterative scan (`hnsw.iterative_scan = relaxed_order`), so
  the filter is applied inside the scan and a branch still fills when many neighbours are filtered
  out; `hnsw.ef_search` is set per transaction to twice the largest limit (at least pgvector's 40;
  not more: 400 for three queries of 67 cost about 2.5x the time of 134, measured). A branch that
  comes back short (a very selective filter: a teen's share of a small catalogue, a member who has
  seen most of it) runs again as an exact scan, so a page is never short while eligible videos exist;
- `follow`: recent posts of the people the member follows or whose posts they liked;
- `fresh`: posts of the last FEED_FRESH_S that have had fewer than FEED_EXPLORE_TARGET impressions
  (counted in Redis as they are served), so every new post gets some exposure in its first hour.
  The posts still waiting are a Redis set (`explore_pending`): a post leaves it once explored, so
  however many are posted in an hour, each snapshot looks at unexplored ones (the oldest, whose
  hour runs out first, and the newest); without the set, the newest posts of the hour;
- `remix`: posted remixes of what the member liked (the `remix_of_id` index);
- `trending`: the periodic top list (`recommender.trending`), as ids through the same condition.

Vectors come back as `halfvec_send` bytes (768 bytes a row, read with numpy) rather than text:
parsing 400 vectors of 384 numbers from text costs more than the rest of the request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

import numpy as np
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from recommender.eligibility import Audience, eligible_shared
from recommender.models import DIMENSIONS, VideoFactors, VideoVector
from recommender.vectors import from_send, vectors_of

logger = logging.getLogger(__name__)

TABLE = VideoVector._meta.db_table
FACTORS = VideoFactors._meta.db_table
# A candidate's logged source is the first of these that proposed it: exploration first (its
# impressions are counted), then the more particular reasons.
SOURCES = ("fresh", "follow", "steer", "remix", "ann", "trending", "given")
COLUMNS = "v.video_id, v.creator_id, v.posted_at, v.remix_of_id, halfvec_send(v.vector)"
WITH_CONTENT = COLUMNS + ", halfvec_send(v.content)"


@dataclass
class Candidate:
    """One eligible video and every source that proposed it."""

    video_id: UUID
    creator_id: UUID
    posted_at: datetime
    remix_of_id: UUID | None
    vector: np.ndarray  # float32 [DIMENSIONS], unit length (zeros while the video awaits its vector)
    sources: list[str] = field(default_factory=list)
    content: np.ndarray | None = None  # the content vector alone, read when steering needs it
    collab: np.ndarray | None = None  # ALS item factors (None until a training has seen the video)

    @property
    def source(self) -> str:
        """The source logged with the impression (the first of SOURCES that proposed it)."""
        return self.sources[0]


@dataclass(frozen=True)
class AnnQuery:
    vector: np.ndarray  # float32 [DIMENSIONS]
    limit: int
    source: str = "ann"  # or "steer"


@dataclass(frozen=True)
class Plan:
    """What to retrieve for one snapshot; an empty part is simply not asked."""

    queries: tuple[AnnQuery, ...] = ()
    follow_creators: tuple[UUID, ...] = ()
    liked_ids: tuple[UUID, ...] = ()  # their creators count as "interacted with"
    follow_since: datetime | None = None
    follow_limit: int = 0
    fresh_limit: int = 0
    fresh_ids: tuple[UUID, ...] = ()  # the posts waiting for exploration (explore_pending); () scans
    remix_limit: int = 0  # posted remixes of `liked_ids`, newest first
    ids: dict[str, list[UUID]] = field(default_factory=dict)  # source -> ids (trending; "given")
    exclude_seen: bool = True
    with_content: bool = False  # also read content vectors (steering compares in that space)


def halfvec_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.5f}" for x in vector.tolist()) + "]"


def vector_of(raw: bytes | memoryview | None) -> np.ndarray:
    """A `halfvec_send` value as float32; zeros for None (a video awaiting its vector)."""
    return np.zeros(DIMENSIONS, dtype=np.float32) if raw is None else from_send(raw)


_NO_VECTOR = np.zeros(DIMENSIONS, dtype=np.float32)  # a video awaiting its vector (shared: read-only)
_NO_VECTOR.setflags(write=False)


def _vectors_fill(found: dict[UUID, Candidate], chosen: list[tuple[Any, ...]]) -> None:
    """Each candidate's vectors from `chosen`, the first row that named each (in `found`'s order;
    columns 5 and 6), and its ALS factors (one more statement, once per candidate: `VideoFactors`)."""
    with_content = bool(chosen) and len(chosen[0]) > 6
    vectors = vectors_of([row[5] for row in chosen])
    contents = vectors_of([row[6] for row in chosen]) if with_content else [None] * len(chosen)
    factors = _factors_of(list(found))
    collabs = vectors_of([factors.get(video_id) for video_id in found])
    for candidate, vector, collab, content in zip(found.values(), vectors, collabs, contents, strict=True):
        candidate.vector = _NO_VECTOR if vector is None else vector
        candidate.collab, candidate.content = collab, content


def _factors_of(video_ids: list[UUID]) -> dict[UUID, bytes]:
    if not video_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT video_id, halfvec_send(collab) FROM {FACTORS} WHERE video_id = ANY(%s::uuid[])",  # noqa: S608
            [video_ids],
        )
        return dict(cursor.fetchall())


def _branch(source: int, columns: str, where: str, order: str, limit: int | None) -> str:
    tail = f" ORDER BY {order}" if order else ""
    tail += f" LIMIT {int(limit)}" if limit is not None else ""
    # Only the table's name, fixed columns and our own conditions are formatted in; values are parameters.
    return f"(SELECT {source} AS branch, {columns} FROM {TABLE} v WHERE {where}{tail})"  # noqa: S608


def _branches(
    plan: Plan, audience: Audience, *, exact: frozenset[int] = frozenset()
) -> tuple[str, list[Any], list[str]]:
    """The statement and its parameters; `names[i]` is branch i's source. ANN branches in `exact`
    order by an expression the index cannot serve, so PostgreSQL scans every eligible row."""
    cte, eligible, params = eligible_shared(audience, exclude_seen=plan.exclude_seen)
    columns = WITH_CONTENT if plan.with_content else COLUMNS
    parts: list[str] = []
    names: list[str] = []

    def add(where: str, extra: list[Any], order: str, limit: int | None, name: str) -> None:
        parts.append(_branch(len(names), columns, f"{eligible} AND {where}", order, limit))
        params.extend(extra)
        names.append(name)

    for query in plan.queries:
        distance = "(v.vector <=> %s::halfvec)" + (" + 0" if len(names) in exact else "")
        # The parameter of ORDER BY comes after the WHERE's.
        add("v.vector IS NOT NULL", [], distance, query.limit, query.source)
        params.append(halfvec_literal(query.vector))
    if plan.follow_limit and (plan.follow_creators or plan.liked_ids):
        # One array of creators (an InitPlan), and an order the time index cannot serve: PostgreSQL
        # then reads each creator's recent posts through (creator_id, -posted_at) and sorts the few
        # it found, instead of walking every recent post for the ones by these creators (8 ms at S).
        liked = f"SELECT l.creator_id FROM {TABLE} l WHERE l.video_id = ANY(%s::uuid[])"  # noqa: S608
        creators = f"ARRAY(SELECT unnest(%s::uuid[]) UNION {liked})"
        where = f"v.creator_id = ANY({creators}) AND v.posted_at >= %s"
        extra = [list(plan.follow_creators), list(plan.liked_ids), plan.follow_since]
        add(where, extra, "v.posted_at + interval '0 s' DESC", plan.follow_limit, "follow")
    if plan.remix_limit and plan.liked_ids:
        add(
            "v.remix_of_id = ANY(%s::uuid[])",
            [list(plan.liked_ids)],
            "v.posted_at DESC",
            plan.remix_limit,
            "remix",
        )
    if plan.fresh_limit:
        since = timezone.now() - timedelta(seconds=settings.RECOMMENDER_FRESH_S)
        where, extra = "v.posted_at >= %s", [since]
        if plan.fresh_ids:
            where, extra = where + " AND v.video_id = ANY(%s::uuid[])", [since, list(plan.fresh_ids)]
        add(where, extra, "v.posted_at DESC", plan.fresh_limit, "fresh")
    for name, ids in plan.ids.items():
        if ids:
            add("v.video_id = ANY(%s::uuid[])", [ids], "", None, name)
    if not parts:
        return "", [], names
    return f"WITH {cte} " + " UNION ALL ".join(parts), params, names


def ef_search_for(limit: int) -> int:
    """HNSW's search breadth for an ANN list of `limit`: twice it (below the limit pgvector returns fewer
    rows than asked; at twice it recall@200 is 0.998 at S), at least pgvector's 40, at most 1000."""
    return min(1000, max(40, 2 * limit))


def _fetch(
    plan: Plan, audience: Audience, exact: frozenset[int] = frozenset()
) -> tuple[list[tuple[Any, ...]], list[str]]:
    sql, params, names = _branches(plan, audience, exact=exact)
    if not sql:
        return [], names
    largest = max((query.limit for query in plan.queries), default=0)
    # savepoint=False: inside a caller's transaction (a test) the settings last it, at no extra statement.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true),"
            " set_config('hnsw.iterative_scan', 'relaxed_order', true),"
            " set_config('hnsw.max_scan_tuples', %s, true)",
            [
                str(ef_search_for(largest)),
                str(settings.RECOMMENDER_ANN_MAX_SCAN_TUPLES),
            ],
        )
        cursor.execute(sql, params)
        return cursor.fetchall(), names


def candidates_gather(plan: Plan, audience: Audience) -> list[Candidate]:
    """Every eligible candidate the plan's sources propose, each once (with all its sources), in the
    order the branches gave them."""
    rows, names = _fetch(plan, audience)
    counts = [0] * len(names)
    for row in rows:
        counts[row[0]] += 1
    short = frozenset(i for i, query in enumerate(plan.queries) if counts[i] < query.limit)
    if short:
        # Exact scans for the short ANN branches only: the others keep what they found.
        queries = tuple(q if i in short else replace(q, limit=0) for i, q in enumerate(plan.queries))
        exact_plan = Plan(queries=queries, exclude_seen=plan.exclude_seen, with_content=plan.with_content)
        extra, _ = _fetch(exact_plan, audience, exact=short)
        rows = [row for row in rows if row[0] not in short] + [row for row in extra if row[0] in short]
        logger.info("recommender.ann_exact", extra={"branches": len(short), "user_id": str(audience.user_id)})
    rows.sort(key=lambda row: SOURCES.index(names[row[0]]))
    found: dict[UUID, Candidate] = {}
    first_rows: list[tuple[Any, ...]] = []
    for row in rows:
        candidate = found.get(row[1])
        if candidate is None:
            candidate = found[row[1]] = Candidate(row[1], row[2], row[3], row[4], _NO_VECTOR)
            first_rows.append(row)
        if names[row[0]] not in candidate.sources:
            candidate.sources.append(names[row[0]])
    _vectors_fill(found, first_rows)
    return _explore_only_the_unexposed(list(found.values()))


# --- exploration: how many impressions each fresh post has had ------------------------------------


@cache
def _client(url: str) -> Any:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_client() -> Any:
    """The recommender's Redis (snapshots, exploration counts, trending): one client per URL."""
    return _client(settings.REDIS_URL)


def _explored_key(video_id: UUID | str) -> str:
    return f"kino:rec:explored:{video_id}"


def _explore_only_the_unexposed(candidates: list[Candidate]) -> list[Candidate]:
    """Fresh candidates that already had FEED_EXPLORE_TARGET impressions lose their `fresh` source
    (and go, when nothing else proposed them); the least exposed first, FEED_FRESH_TAKE at most."""
    fresh = [c for c in candidates if "fresh" in c.sources]
    if not fresh:
        return candidates
    try:
        counts = [int(n or 0) for n in redis_client().mget([_explored_key(c.video_id) for c in fresh])]
    except (redis.RedisError, OSError):
        logger.warning("recommender.explored_unavailable", exc_info=True)
        counts = [0] * len(fresh)
    ranked = sorted(zip(counts, range(len(fresh)), strict=True))
    keep = {
        fresh[i].video_id
        for n, i in ranked[: settings.RECOMMENDER_FRESH_TAKE]
        if n < settings.RECOMMENDER_EXPLORE_TARGET
    }
    for candidate in fresh:
        if candidate.video_id not in keep:
            candidate.sources.remove("fresh")
    return [c for c in candidates if c.sources]


EXPLORE_KEY = "kino:rec:explore"  # posts of the fresh window still short of their impressions


def explore_pending_update(posts: Sequence[tuple[UUID, datetime]], gone: Collection[UUID] = ()) -> None:
    """Posts just in feeds wait for their exploratory impressions until they have them (a caption
    edit does not make an explored post wait again) or their fresh window ends; posts that left
    feeds (`gone`) stop waiting."""
    cutoff = time.time() - settings.RECOMMENDER_FRESH_S
    recent = [(str(video_id), at.timestamp()) for video_id, at in posts if at.timestamp() >= cutoff]
    try:
        if gone:
            redis_client().zrem(EXPLORE_KEY, *[str(video_id) for video_id in gone])
        if not recent:
            return
        counts = redis_client().mget([_explored_key(video_id) for video_id, _ in recent])
        target = settings.RECOMMENDER_EXPLORE_TARGET
        waiting = {
            video_id: at for (video_id, at), n in zip(recent, counts, strict=True) if int(n or 0) < target
        }
        if waiting:
            redis_client().zadd(EXPLORE_KEY, waiting)
    except (redis.RedisError, OSError):
        logger.warning("recommender.explore_unavailable", exc_info=True)


def explore_pending(limit: int) -> tuple[UUID, ...]:
    """Up to `limit` posts still waiting for exploration: the oldest half (their window ends first)
    and the newest. Empty when none wait or Redis cannot say (the fresh branch then scans the newest
    posts of the window)."""
    older, newer = limit // 2, limit - limit // 2
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.zremrangebyscore(EXPLORE_KEY, "-inf", f"({time.time() - settings.RECOMMENDER_FRESH_S}")
        pipe.zrange(EXPLORE_KEY, 0, older - 1) if older else pipe.echo("")
        pipe.zrange(EXPLORE_KEY, -newer, -1) if newer else pipe.echo("")
        _, oldest, newest = pipe.execute()
    except (redis.RedisError, OSError):
        logger.warning("recommender.explore_unavailable", exc_info=True)
        return ()
    return tuple(UUID(raw.decode()) for raw in dict.fromkeys([*(oldest or []), *(newest or [])]))


def explored_count(video_ids: Sequence[UUID]) -> None:
    """Count served impressions of fresh posts (the keys live twice the fresh window); a post that
    has had RECOMMENDER_EXPLORE_TARGET stops waiting."""
    if not video_ids:
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        for video_id in video_ids:
            pipe.incr(_explored_key(video_id))
            pipe.expire(_explored_key(video_id), 2 * settings.RECOMMENDER_FRESH_S)
        counts = pipe.execute()[::2]
        done = [
            str(v) for v, n in zip(video_ids, counts, strict=True) if n >= settings.RECOMMENDER_EXPLORE_TARGET
        ]
        if done:
            redis_client().zrem(EXPLORE_KEY, *done)
    except (redis.RedisError, OSError):
        logger.warning("recommender.explored_unavailable", exc_info=True)


def candidates_for_videos(
    audience: Audience, video_ids: list[UUID], *, with_content: bool = False
) -> list[Candidate]:
    """The given videos as candidates, where eligible (offline evaluation ranks chosen sets)."""
    plan = Plan(ids={"given": video_ids}, exclude_seen=False, with_content=with_content)
    return candidates_gather(plan, audience)
