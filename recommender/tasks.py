"""The recommender's Celery tasks (queue `default`) and the sweeps every worker's main process runs
(settings.WORKER_PERIODIC): those only queue a task, so a worker's main loop never embeds or trains.

Every worker runs the same periodic entries; a training or a refresh is queued by the first of them
each period (`_first_this_period`: a Redis key set if absent, expiring with the period), so several
workers do not train the same model several times. Without Redis nothing can be queued anyway.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import redis
from celery import shared_task
from django.conf import settings
from django.utils import timezone


@shared_task(name="recommender.videos_embed")
def videos_embed_task(*, video_ids: list[str], again: bool = True) -> int:
    """Embeds these posts (`again`: even when they have a vector, their words having changed) and any
    others waiting (the task re-reads each: one unposted since is left)."""
    from recommender.vectors import videos_embed

    return videos_embed([UUID(video_id) for video_id in video_ids], again=again)


@shared_task(name="recommender.collab_train")
def collab_train_task() -> str:
    from recommender.collab import collab_train

    return collab_train()


@shared_task(name="recommender.ranker_train")
def ranker_train_task() -> str:
    from recommender.ranking import ranker_train

    return ranker_train()


@shared_task(name="recommender.trending_refresh")
def trending_refresh_task() -> int:
    from recommender.trending import trending_refresh

    return trending_refresh()


def _first_this_period(name: str, period_s: int) -> bool:
    """True for the first worker to ask this period (the key lives a little less than the period, so
    the next period's first asker is never shut out by clock jitter)."""
    from recommender.candidates import redis_client

    try:
        return bool(redis_client().set(f"kino:rec:periodic:{name}", 1, nx=True, ex=max(1, period_s - 1)))
    except (redis.RedisError, OSError):
        return False


SWEEP_BATCHES = 4  # tasks the sweep queues at most (a backlog: posts from before migration 0005)


def videos_embed_sweep() -> int:
    """settings.WORKER_PERIODIC: posts whose embedding task was lost, or still waiting for their teen
    judgement, are queued again, newest first, a batch a task; nothing already embedded is embedded
    again (its blend with behaviour stays)."""
    from recommender.vectors import videos_waiting

    batch = settings.RECOMMENDER_EMBED_BATCH
    waiting = videos_waiting(older_than_s=settings.RECOMMENDER_EMBED_SWEEP_S, limit=SWEEP_BATCHES * batch)
    for start in range(0, len(waiting), batch):
        ids = [str(video_id) for video_id in waiting[start : start + batch]]
        videos_embed_task.delay(video_ids=ids, again=False)
    return len(waiting)


def collab_retrain() -> None:
    """settings.WORKER_PERIODIC: the collaborative vectors are trained again from recent behaviour."""
    if _first_this_period("collab", settings.RECOMMENDER_ALS_RETRAIN_S):
        collab_train_task.delay()


def ranker_retrain() -> None:
    """settings.WORKER_PERIODIC: the ranker is trained again on the logged impressions."""
    if _first_this_period("ranker", settings.RECOMMENDER_RANKER_RETRAIN_S):
        ranker_train_task.delay()


def trending_recompute() -> None:
    """settings.WORKER_PERIODIC: the trending list is recomputed."""
    if _first_this_period("trending", settings.RECOMMENDER_TRENDING_REFRESH_S):
        trending_refresh_task.delay()


def impressions_prune() -> int:
    """settings.WORKER_PERIODIC: served items older than RECOMMENDER_IMPRESSIONS_RETENTION_DAYS go (the
    ranker trains on the last RECOMMENDER_RANKER_DAYS), in batches; how many went."""
    from recommender.models import Impression

    before = timezone.now() - timedelta(days=settings.RECOMMENDER_IMPRESSIONS_RETENTION_DAYS)
    removed = 0
    while True:
        batch = list(Impression.objects.filter(served_at__lt=before).values_list("id", flat=True)[:5000])
        if not batch:
            return removed
        removed += Impression.objects.filter(id__in=batch).delete()[0]
