"""The recommender's periodic work: each worker runs the entries, the first one each period queues the
task (trainings are not repeated per worker), served items are pruned after their retention,
and trending decays with age."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from feed.models import VideoStats
from recommender import tasks
from recommender.candidates import redis_client
from recommender.models import Impression, VideoVector
from recommender.trending import trending_compute, trending_ids, trending_refresh
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls: list[str] = []
    for name in ("collab_train_task", "ranker_train_task", "trending_refresh_task"):
        monkeypatch.setattr(getattr(tasks, name), "delay", lambda name=name: calls.append(name))
    client = redis_client()
    client.delete(*[f"kino:rec:periodic:{k}" for k in ("collab", "ranker", "trending")])
    return calls


def test_two_workers_queue_each_training_once_a_period(queued, settings):
    for _worker in range(2):
        tasks.collab_retrain()
        tasks.ranker_retrain()
        tasks.trending_recompute()
    assert sorted(queued) == ["collab_train_task", "ranker_train_task", "trending_refresh_task"]
    periodic = settings.WORKER_PERIODIC
    assert periodic["recommender.tasks.collab_retrain"] == settings.RECOMMENDER_ALS_RETRAIN_S
    assert periodic["recommender.tasks.ranker_retrain"] == settings.RECOMMENDER_RANKER_RETRAIN_S
    assert periodic["recommender.tasks.trending_recompute"] == settings.RECOMMENDER_TRENDING_REFRESH_S
    assert periodic["recommender.tasks.videos_embed_sweep"] == settings.RECOMMENDER_EMBED_SWEEP_S
    assert periodic["recommender.tasks.impressions_prune"] > 0


def test_the_next_period_queues_again(queued):
    tasks.ranker_retrain()
    redis_client().delete("kino:rec:periodic:ranker")  # the key expired with the period
    tasks.ranker_retrain()
    assert queued == ["ranker_train_task", "ranker_train_task"]


def test_served_items_past_their_retention_are_pruned(settings):
    settings.RECOMMENDER_IMPRESSIONS_RETENTION_DAYS = 30
    now = timezone.now()
    for age_days in (31, 40, 29):
        Impression.objects.create(
            user_id=uuid.uuid4(),
            video_id=uuid.uuid4(),
            page_key="p",
            position=0,
            source="fresh",
            score=0.0,
            model_version="v",
            served_at=now - timedelta(days=age_days),
        )
    assert tasks.impressions_prune() == 2
    assert [(now - i.served_at).days for i in Impression.objects.all()] == [29]


def trending_post(age_h: float, **counters: int) -> uuid.UUID:
    post = PostFactory(posted_at=timezone.now() - timedelta(hours=age_h))
    VideoStats.objects.filter(video=post).update(**counters)
    VideoVector.objects.create(
        video_id=post.id, creator_id=post.owner_id, posted_at=post.posted_at, in_feeds=True, teen_text_ok=True
    )
    return post.id


def test_trending_decays_with_age_and_weighs_remixes_above_likes(settings):
    settings.RECOMMENDER_TRENDING_GRAVITY = 1.8
    # Yesterday's hit (60 likes, 24 h old) against today's smaller ones; two posts of the same age,
    # one remixed 5 times, one liked 5 times; and a post out of feeds, however hot
    old_hit = trending_post(24, likes=60)
    fresh = trending_post(1, likes=10)
    remixed, liked = trending_post(3, remixes=5), trending_post(3, likes=5)
    hidden = trending_post(1, likes=500)
    VideoVector.objects.filter(video_id=hidden).update(in_feeds=False)

    ranked = trending_compute(limit=10)

    assert hidden not in ranked
    assert ranked.index(fresh) < ranked.index(old_hit)  # (60+1)/26^1.8 < (10+1)/3^1.8
    assert ranked.index(remixed) < ranked.index(liked)
    # And the worker's refresh stores that list, which feed requests read
    assert trending_refresh() == 4
    assert trending_ids(10) == ranked
