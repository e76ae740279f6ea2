"""Trending with time decay: one list for everyone, refreshed by the workers, read from Redis.

A post's heat is what people did with it (remixes weigh most, then shares, likes, comments, views;
feed's counters count people, not events) over its age in hours plus two, to the power
FEED_TRENDING_GRAVITY (Hacker News' decay): yesterday's hit gives way to today's. Computing it reads
the counters of every recent post, too much for a request; a feed request only reads the list.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from uuid import UUID

import numpy as np
import redis
from django.conf import settings
from django.utils import timezone

from feed.public import video_counters
from recommender.candidates import redis_client
from recommender.models import VideoVector

logger = logging.getLogger(__name__)

KEY = "kino:rec:trending"
# What each counted action is worth to a post's heat.
WEIGHTS = {"remixes": 4.0, "shares": 2.0, "likes": 1.0, "comments": 0.5, "views": 0.05}


def trending_compute(limit: int) -> list[UUID]:
    """The `limit` hottest posts in feeds among the FEED_TRENDING_SCAN newest of FEED_TRENDING_DAYS."""
    now = timezone.now()
    recent = list(
        VideoVector.objects.filter(
            in_feeds=True, posted_at__gte=now - timedelta(days=settings.RECOMMENDER_TRENDING_DAYS)
        )
        .order_by("-posted_at")
        .values_list("video_id", "posted_at")[: settings.RECOMMENDER_TRENDING_SCAN]
    )
    if not recent:
        return []
    counters = video_counters([video_id for video_id, _ in recent])
    heat = np.empty(len(recent))
    for i, (video_id, posted_at) in enumerate(recent):
        stats = counters.get(video_id)
        done = sum(w * getattr(stats, name) for name, w in WEIGHTS.items()) if stats else 0.0
        age_h = max(0.0, (now - posted_at).total_seconds() / 3600)
        heat[i] = (done + 1.0) / (age_h + 2.0) ** settings.RECOMMENDER_TRENDING_GRAVITY
    order = np.argsort(-heat, kind="stable")[:limit]
    return [recent[i][0] for i in order]


def _store(ids: list[UUID]) -> None:
    try:
        redis_client().set(KEY, json.dumps([str(i) for i in ids]), ex=settings.RECOMMENDER_TRENDING_TTL_S)
    except (redis.RedisError, OSError):
        logger.warning("recommender.trending_unstored", exc_info=True)


def trending_refresh() -> int:
    """Periodic (WORKER_PERIODIC): recompute the list and store it; how many it holds."""
    ids = trending_compute(settings.RECOMMENDER_TRENDING_KEEP)
    _store(ids)
    return len(ids)


def trending_ids(limit: int) -> list[UUID]:
    """The stored list's head; computed in place when there is none yet (a fresh start, or Redis lost
    it), so the first member after a start still gets trending candidates."""
    try:
        stored = redis_client().get(KEY)
    except (redis.RedisError, OSError):
        logger.warning("recommender.trending_unavailable", exc_info=True)
        return trending_compute(limit)
    if stored is None:
        ids = trending_compute(settings.RECOMMENDER_TRENDING_KEEP)
        _store(ids)
        return ids[:limit]
    return [UUID(i) for i in json.loads(stored)[:limit]]
