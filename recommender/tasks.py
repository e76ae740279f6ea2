"""The recommender's Celery tasks (queue `default`) and the sweeps every worker's main process runs
(settings.WORKER_PERIODIC): those only queue a task, so a worker's main loop never embeds or trains."""

from __future__ import annotations

from uuid import UUID

from celery import shared_task
from django.conf import settings


@shared_task(name="recommender.videos_embed")
def videos_embed_task(*, video_ids: list[str]) -> int:
    """Embeds these posts and any others waiting (the task re-reads each: one unposted since is left)."""
    from recommender.vectors import videos_embed

    return videos_embed([UUID(video_id) for video_id in video_ids])


@shared_task(name="recommender.collab_train")
def collab_train_task() -> str:
    from recommender.collab import collab_train

    return collab_train()


def videos_embed_sweep() -> int:
    """settings.WORKER_PERIODIC: posts whose embedding task was lost are queued again."""
    from recommender.vectors import videos_waiting

    waiting = videos_waiting(older_than_s=settings.RECOMMENDER_EMBED_SWEEP_S)
    if waiting:
        videos_embed_task.delay(video_ids=[str(video_id) for video_id in waiting])
    return len(waiting)


def collab_retrain() -> None:
    """settings.WORKER_PERIODIC: the collaborative vectors are trained again from recent behaviour."""
    collab_train_task.delay()
