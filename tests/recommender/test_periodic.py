"""The recommender's periodic work: each worker runs the entries, the first one each period queues the
task (trainings are not repeated per worker), and served items are pruned after their retention."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from recommender import tasks
from recommender.candidates import redis_client
from recommender.models import Impression

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
    assert periodic["recommender.tasks.ranker_retrain"] == settings.RECOMMENDER_RANKER_RETRAIN_S
    assert periodic["recommender.tasks.trending_recompute"] == settings.RECOMMENDER_TRENDING_REFRESH_S


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
