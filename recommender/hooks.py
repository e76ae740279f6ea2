"""What the recommender hears from the apps below it (registered in `RecommenderConfig.ready`):
posts changing, labels changing, likes and view events, members leaving."""

from __future__ import annotations

import logging
from functools import partial
from uuid import UUID

import redis
from django.db import transaction

from feed.public import posted_video_ids_of
from recommender.candidates import explore_pending_update, redis_client
from recommender.interests import interests_on_remix
from recommender.models import FeedProfile, UserFactors, UserVector, VideoFactors, VideoVector
from recommender.vectors import videos_sync

logger = logging.getLogger(__name__)

REMIX_SEEN_TTL_S = 30 * 24 * 3600


def videos_changed(video_ids: list[UUID]) -> None:
    """feed's video listener: the rows follow; a post just made waits for exploratory impressions;
    a remix just posted teaches its creator's interests (once per remix, on commit, when the
    parent's vector is there to learn from)."""
    posted = videos_sync(video_ids)
    waiting = [(fact.video_id, fact.posted_at) for fact in posted if fact.posted_at is not None]
    gone = set(video_ids) - {fact.video_id for fact in posted}
    transaction.on_commit(partial(explore_pending_update, waiting, gone), robust=True)
    for fact in posted:
        if fact.remix_of_id is not None:
            learn = partial(_remix_learn, fact.creator_id, fact.remix_of_id, fact.video_id)
            transaction.on_commit(learn, robust=True)


def _remix_learn(creator_id: UUID, parent_id: UUID, remix_id: UUID) -> None:
    try:
        first = redis_client().set(f"kino:rec:remix:{remix_id}", 1, nx=True, ex=REMIX_SEEN_TTL_S)
    except (redis.RedisError, OSError):
        logger.warning("recommender.remix_dedup_unavailable", exc_info=True)
        first = True
    if first:
        interests_on_remix(creator_id, parent_id)


def member_standing(user_id: UUID, active: bool) -> None:
    """accounts' standing hook: a deactivated member's posts leave feeds and search (their rows go);
    active again, they come back (rows again, their text embedded afresh by the task videos_sync
    queues; the blend with behaviour returns at the next training)."""
    posts = posted_video_ids_of(owner_id=user_id)
    if active:  # only the posts without a row: an appeal may "reactivate" a member already active
        have = set(VideoVector.objects.filter(video_id__in=posts).values_list("video_id", flat=True))
        posts = [video_id for video_id in posts if video_id not in have]
    if posts:
        videos_sync(posts)


def member_leaving(user_id: UUID) -> None:
    """accounts' member-leaving hook: their vectors, factors, profile and posts' rows go with them
    (their videos are deleted by cascade, which tells no listener)."""
    UserVector.objects.filter(user_id=user_id).delete()
    UserFactors.objects.filter(user_id=user_id).delete()
    FeedProfile.objects.filter(user_id=user_id).delete()
    posts = VideoVector.objects.filter(creator_id=user_id)
    VideoFactors.objects.filter(video_id__in=posts.values("video_id")).delete()
    posts.delete()
