"""Who hears of changes to posts: upper apps (the recommender keeps its vector rows in step) register
here from their `AppConfig.ready`, and feed calls them without importing them.

A listener gets the ids of videos whose state, text or place in feeds may have changed (posted,
unposted, edited, deleted, removed, restored) and re-reads them through `feed.public`: one kind of
call for every change, so a listener cannot miss a case by handling them one by one. It runs inside
the transaction that makes the change, so the two commit together or not at all; it must be quick
(heavy work goes to a task queued on commit).

Likes go to `like_listeners` once the like commits: a member's like feeds what they are shown next,
and a failing listener never undoes a like.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from uuid import UUID

from django.db import transaction

VideoListener = Callable[[list[UUID]], None]
LikeListener = Callable[[UUID, UUID], None]  # (user_id, video_id)
_video_listeners: list[VideoListener] = []
_like_listeners: list[LikeListener] = []


def video_listener_register(listener: VideoListener) -> VideoListener:
    if listener not in _video_listeners:
        _video_listeners.append(listener)
    return listener


def videos_changed(video_ids: list[UUID]) -> None:
    for listener in _video_listeners:
        listener(video_ids)


def like_listener_register(listener: LikeListener) -> LikeListener:
    if listener not in _like_listeners:
        _like_listeners.append(listener)
    return listener


def _likes_run(user_id: UUID, video_id: UUID) -> None:
    for listener in _like_listeners:
        listener(user_id, video_id)


def liked(user_id: UUID, video_id: UUID) -> None:
    if _like_listeners:
        transaction.on_commit(partial(_likes_run, user_id, video_id), robust=True)
