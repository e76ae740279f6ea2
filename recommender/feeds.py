"""The For You and following feeds: `feed_page` is the one entry (the API and the bench call it).

A first page (no cursor) builds a snapshot: the member's policy (teen cap and switches) and steering,
who they follow, block and were recently served; candidates from every source in one query
(`candidates`); features and scores (`ranking`); the serving order (`mix`); stored in Redis
(`snapshot`). Every page then serves a slice of it and logs each item it serves as an `Impression`
(features, score, source, model version: the ranker's training data). A teen's items are counted
against the daily cap before they are served.

The following feed is the same machinery over followed creators only: newest first (people expect
every post of whom they follow, in time order, so what was served before may come again), with the
same diversity rules, and it ends with its snapshot (the last RECOMMENDER_SNAPSHOT_ITEMS posts of
FOLLOWING_DAYS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.blas import one_blas_thread
from feed.public import liked_video_ids
from recommender.candidates import (
    AnnQuery,
    Candidate,
    Plan,
    candidates_for_videos,
    candidates_gather,
    explore_pending,
    explored_count,
)
from recommender.eligibility import Audience, audience_for
from recommender.interests import interest_vectors
from recommender.mix import Pool, Rules, mix
from recommender.models import Impression
from recommender.ranking import Member, member_factors, rank
from recommender.snapshot import (
    Cursor,
    Snapshot,
    SnapshotItem,
    SnapshotPage,
    cursor_decode,
    cursor_encode,
    snapshot_load,
    snapshot_new_key,
    snapshot_store,
)
from recommender.steering import SteerTerms, steer_terms
from recommender.teens import TeenPolicy, teen_items_served, teen_limit_require, teen_policy
from recommender.trending import trending_ids
from recommender.wellbeing import checkin_card

FOLLOWING_DAYS = 30  # how far back the following feed reaches


@dataclass(frozen=True)
class FeedItem:
    video_id: UUID
    creator_id: UUID
    source: str  # the candidate source that proposed it first ("follow", "ann", "fresh", ...)
    score: float
    position: int  # in the session's snapshot


@dataclass(frozen=True)
class FeedPage:
    items: tuple[FeedItem, ...]
    next_cursor: str | None  # None: the end (nothing eligible left, or continuous scroll is off)
    checkin: dict[str, Any] | None  # a wellbeing check-in card to show after this page's items
    model_version: str


def feed_page(
    user_id: UUID,
    *,
    cursor: str | None,
    following: bool,
    limit: int | None = None,
    is_teen: bool | None = None,
) -> FeedPage:
    """One page of the member's For You (or following) feed; `cursor` from the previous page's
    `next_cursor`. `limit` sizes the pages of a new session (later pages keep the snapshot's);
    `is_teen` as the request's user says (read again when not given). 400 `invalid_cursor` for a
    cursor that is not ours; 429 `feed_daily_limit_reached` for a teen who has had today's items."""
    kind = "following" if following else "foryou"
    at = cursor_decode(cursor) if cursor else Cursor(snapshot="", page=0, start=0, served=0)
    policy = teen_policy(user_id, is_teen=is_teen)
    teen_limit_require(policy)
    snapshot = snapshot_load(kind, user_id, at.snapshot, at.page) if at.snapshot else None
    if snapshot is None:
        page_size = limit or settings.RECOMMENDER_PAGE_SIZE
        built = snapshot_build(user_id, following=following, policy=policy, page_size=page_size)
        snapshot_store(kind, user_id, built)
        at = Cursor(snapshot=built.key, page=0, start=0, served=at.served)
        snapshot = built.page(0)
    chosen = snapshot.items[at.start :]
    if policy.is_teen:
        chosen = chosen[: teen_items_served(user_id, len(chosen))]
        if snapshot.items and not chosen:
            teen_limit_require(teen_policy(user_id))  # another page took the last items meanwhile
    items = _served(user_id, snapshot, snapshot.offset + at.start, chosen)
    served = at.served + len(items)
    if at.start + len(items) < len(snapshot.items):
        after = Cursor(snapshot.key, at.page, at.start + len(items), served)
    else:
        after = Cursor(snapshot.key, at.page + 1, 0, served)
    # For You goes on (a new snapshot of what was not served); the following feed ends with its snapshot.
    more = (
        bool(items)
        and not policy.continuous_scroll_off
        and not (following and after.page >= snapshot.page_count)
    )
    checkin = checkin_card(user_id, served_so_far=served) if items else None
    return FeedPage(
        items=items,
        next_cursor=cursor_encode(after) if more else None,
        checkin=checkin,
        model_version=snapshot.model_version,
    )


def _served(
    user_id: UUID, snapshot: SnapshotPage, offset: int, chosen: list[SnapshotItem]
) -> tuple[FeedItem, ...]:
    """Log the impressions (one INSERT) and count fresh posts' exposure."""
    items = tuple(
        FeedItem(i.video_id, i.creator_id, i.source, i.score, offset + n) for n, i in enumerate(chosen)
    )
    _impressions_log(user_id, snapshot.key, snapshot.model_version, items, [i.features for i in chosen])
    explored_count([item.video_id for item in items if item.source == "fresh"])
    return items


def _impressions_log(
    user_id: UUID, page_key: str, model_version: str, items: tuple[FeedItem, ...], features: list[list[float]]
) -> None:
    """One INSERT of the page's impressions, the columns as arrays (the ORM's bulk_create of twenty
    rows cost ~5 ms of model instances and per-value adaptation)."""
    if not items:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _IMPRESSIONS_INSERT,
            [
                user_id,
                page_key,
                model_version,
                timezone.now(),
                [item.video_id for item in items],
                [item.position for item in items],
                [item.source for item in items],
                [item.score for item in items],
                ["{" + ",".join(map(repr, f)) + "}" for f in features],
            ],
        )


_IMPRESSIONS_INSERT = (
    f"INSERT INTO {Impression._meta.db_table}"  # noqa: S608  (our table's name; values are parameters)
    " (user_id, video_id, page_key, position, source, score, features, model_version, served_at)"
    " SELECT %s, t.video_id, %s, t.position, t.source, t.score, t.features::float8[], %s, %s"
    " FROM unnest(%s::uuid[], %s::int[], %s::text[], %s::float8[], %s::text[])"
    " AS t(video_id, position, source, score, features)"
)


# --- building a snapshot -------------------------------------------------------------------------


def snapshot_build(user_id: UUID, *, following: bool, policy: TeenPolicy, page_size: int) -> Snapshot:
    personal = not policy.personalisation_off
    steer = steer_terms(user_id) if personal and not following else None
    audience = audience_for(
        user_id, teen=policy.is_teen, muted=steer.muted_creators if steer else frozenset()
    )
    if following:
        plan = _following_plan(audience)
        interests = np.zeros((0, 0), dtype=np.float32)
    else:
        interests, plan = _for_you_plan(audience, personal=personal, steer=steer)
    candidates = candidates_gather(plan, audience)
    factors = member_factors(user_id) if personal else None
    member = Member(
        interests=interests, followees=frozenset(audience.followees), steer=steer, factors=factors
    )
    with one_blas_thread():  # a request's products on one thread (config.blas)
        scores, features, version = rank(member, candidates)
        if following:
            # Newest first: the rank is still computed, for the impressions' features.
            scores = np.array([c.posted_at.timestamp() for c in candidates], dtype=np.float64)
        pool = _pool(candidates, scores, member)
        steering = steer is not None and bool(steer.queries)
        rules = _rules(following, page_size, steering=steering)
        pages = mix(pool, limit=settings.RECOMMENDER_SNAPSHOT_ITEMS, rules=rules)
    logged = np.round(features, 5).tolist()

    def item(i: int) -> SnapshotItem:
        c = candidates[i]
        return SnapshotItem(c.video_id, c.creator_id, c.source, float(scores[i]), logged[i])

    return Snapshot(
        key=snapshot_new_key(), model_version=version, pages=[[item(i) for i in p] for p in pages]
    )


def _rules(following: bool, page_size: int, *, steering: bool = False) -> Rules:
    """The mix's rules. While the member steers toward something, RECOMMENDER_STEER_SHARE of each page
    comes from the steering's own candidates and the follow share applies to the rest: they asked in
    words, and that beats habit for the next pages."""
    if following:
        # Time order, kept: no shares to fill, no MMR reordering; the creator rules still hold.
        return Rules(
            page_size=page_size,
            creator_max=settings.RECOMMENDER_CREATOR_MAX,
            follow_share=0.0,
            fresh_share=0.0,
            mmr_lambda=1.0,
        )
    steer_share = settings.RECOMMENDER_STEER_SHARE if steering else 0.0
    return Rules(
        page_size=page_size,
        creator_max=settings.RECOMMENDER_CREATOR_MAX,
        follow_share=settings.RECOMMENDER_FOLLOW_SHARE * (1 - steer_share),
        fresh_share=settings.RECOMMENDER_FRESH_SHARE,
        mmr_lambda=settings.RECOMMENDER_MMR_LAMBDA,
        steer_share=steer_share,
    )


def _pool(candidates: list[Candidate], scores: np.ndarray, member: Member) -> Pool:
    dims = len(candidates[0].vector) if candidates else 0
    return Pool(
        creators=[c.creator_id for c in candidates],
        scores=np.asarray(scores, dtype=np.float64),
        vectors=np.stack([c.vector for c in candidates]) if candidates else np.zeros((0, dims)),
        followed=np.array([c.creator_id in member.followees for c in candidates], dtype=bool),
        fresh=np.array(["fresh" in c.sources for c in candidates], dtype=bool),
        steered=np.array(["steer" in c.sources for c in candidates], dtype=bool),
    )


def _following_plan(audience: Audience) -> Plan:
    return Plan(
        follow_creators=audience.followees,
        follow_since=timezone.now() - timedelta(days=FOLLOWING_DAYS),
        follow_limit=2 * settings.RECOMMENDER_SNAPSHOT_ITEMS,
        exclude_seen=False,
    )


def _ann_queries(interests: list[tuple[np.ndarray, float]], steer: SteerTerms | None) -> tuple[AnnQuery, ...]:
    """One ANN query per interest vector, the budget shared by weight (at least a fifth each), and
    one per steering clause."""
    total = sum(max(weight, 0.0) for _, weight in interests) or 1.0
    budget = settings.RECOMMENDER_CANDIDATES_ANN
    queries = [
        AnnQuery(vector, max(budget // 5, round(budget * max(weight, 0.0) / total)), "ann")
        for vector, weight in interests
    ]
    if steer is not None:
        queries += [AnnQuery(q, settings.RECOMMENDER_CANDIDATES_STEER, "steer") for q in steer.queries]
    return tuple(queries)


def _for_you_plan(audience: Audience, *, personal: bool, steer: SteerTerms | None) -> tuple[np.ndarray, Plan]:
    """The sources of a For You snapshot. Without personalisation (a guardian's switch): follows,
    fresh and trending only; a cold member (no interest vectors) gets trending's share of ANN too."""
    interests = interest_vectors(audience.user_id) if personal else []
    liked = (
        liked_video_ids(user_id=audience.user_id, limit=settings.RECOMMENDER_LIKED_RECENT) if personal else []
    )
    trending = settings.RECOMMENDER_CANDIDATES_TRENDING + (
        0 if interests else settings.RECOMMENDER_CANDIDATES_ANN
    )
    plan = Plan(
        queries=_ann_queries(interests, steer),
        follow_creators=audience.followees,
        liked_ids=tuple(liked),
        follow_since=timezone.now() - timedelta(days=settings.RECOMMENDER_FOLLOW_DAYS),
        follow_limit=settings.RECOMMENDER_CANDIDATES_FOLLOW,
        fresh_limit=settings.RECOMMENDER_FRESH_SCAN,
        fresh_ids=explore_pending(settings.RECOMMENDER_FRESH_SCAN),
        remix_limit=settings.RECOMMENDER_CANDIDATES_REMIX,
        ids={"trending": trending_ids(trending)},
        with_content=steer is not None and steer.active,
    )
    matrix = (
        np.stack([v for v, _ in interests]).astype(np.float32) if interests else np.zeros((0, 0), np.float32)
    )
    return matrix, plan


def rank_videos(user_id: UUID, video_ids: list[UUID]) -> np.ndarray:
    """Offline evaluation (bench/): the member's scores for `video_ids`, in their order, as a first
    page would rank them now (-inf for a video not eligible for them: theirs, blocked, removed...)."""
    policy = teen_policy(user_id)
    steer = steer_terms(user_id)
    audience = audience_for(user_id, teen=policy.is_teen, muted=steer.muted_creators)
    candidates = candidates_for_videos(audience, video_ids, with_content=steer.active)
    interests = interest_vectors(user_id)
    matrix = (
        np.stack([v for v, _ in interests]).astype(np.float32) if interests else np.zeros((0, 0), np.float32)
    )
    followees = frozenset(audience.followees)
    member = Member(interests=matrix, followees=followees, steer=steer, factors=member_factors(user_id))
    scores, _, _ = rank(member, candidates)
    by_id = {c.video_id: float(s) for c, s in zip(candidates, scores, strict=True)}
    return np.array([by_id.get(v, -np.inf) for v in video_ids], dtype=np.float64)
