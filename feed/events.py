"""View events: the client's batches of what a member saw and did (`POST /api/v1/events`).

Stored in `ViewEvent` for the recommender, deduplicated by (member, client event id), and folded into
the videos' public counters (`VideoStats.views`, `watch_ms`, `shares`). A batch costs a constant
number of queries whatever its size: one visibility check for its distinct videos, one multi-row
INSERT ... ON CONFLICT DO NOTHING RETURNING (the rows really new), one UPDATE of the counters.

Counters count people's acts, not events: per member and video, at most one view and one share, and
at most the window's own length of watch time, are counted per FEED_EVENTS_COUNT_WINDOW_S (the
window is kept in Redis). Replaying events under fresh ids cannot inflate a video's numbers faster
than a real viewer could; the events themselves are all stored.

Rows are pruned by time (`view_events_prune`, hourly in every worker): see docs/architecture.md for
why pruning and not partitioning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any, NamedTuple
from uuid import UUID

import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from feed.selectors import videos_visible_to

logger = logging.getLogger(__name__)

WATCH_MS_MAX = 10 * 60 * 1000  # one watch_progress event reports at most ten minutes
PRUNE_BATCH = 10_000
PRUNE_MAX_BATCHES = 100  # one call deletes at most a million rows, so a backlog never holds a worker long
COUNTERS = ("views", "watch_ms", "shares")  # of VideoStats, from view_start, watch_progress and share

# The columns match feed/models.py ViewEvent; the batch travels as one array per column. What comes
# back is, per video, what the rows really inserted (not those stored before) add to its counters.
_INSERT = """
WITH new AS (
    INSERT INTO feed_viewevent
        (user_id, video_id, client_event_id, kind, watch_ms, occurred_at, received_at)
    SELECT %s, e.video_id, e.client_event_id, e.kind, e.watch_ms, e.occurred_at, %s
    FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::integer[], %s::timestamptz[])
        AS e (video_id, client_event_id, kind, watch_ms, occurred_at)
    ON CONFLICT (user_id, client_event_id) DO NOTHING
    RETURNING video_id, kind, watch_ms
)
SELECT
    video_id,
    count(*),
    count(*) FILTER (WHERE kind = 'view_start'),
    coalesce(sum(watch_ms) FILTER (WHERE kind = 'watch_progress'), 0),
    count(*) FILTER (WHERE kind = 'share')
FROM new
GROUP BY video_id
"""

# Rows are locked in video id order first: two batches touching the same videos in different orders
# would otherwise deadlock.
_COUNTERS_ADD = """
WITH delta (video_id, views, watch_ms, shares) AS (
    SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::bigint[])
), locked AS MATERIALIZED (
    SELECT s.video_id FROM feed_videostats s
    WHERE s.video_id IN (SELECT video_id FROM delta)
    ORDER BY s.video_id
    FOR UPDATE
)
UPDATE feed_videostats s
SET views = s.views + d.views, watch_ms = s.watch_ms + d.watch_ms, shares = s.shares + d.shares
FROM delta d, locked l
WHERE s.video_id = d.video_id AND l.video_id = d.video_id
"""

_PRUNE = """
DELETE FROM feed_viewevent
WHERE id IN (SELECT id FROM feed_viewevent WHERE received_at < %s LIMIT %s)
"""


class EventIn(NamedTuple):
    """One client event, already validated (feed.apis.events). A tuple: a batch makes 500 of them."""

    client_event_id: str
    kind: str
    video_id: UUID
    occurred_at: datetime  # aware
    watch_ms: int = 0


@dataclass(frozen=True)
class EventsReceipt:
    accepted: int  # stored now
    duplicates: int  # stored before (or earlier in the same batch): not stored again
    ignored: int  # about a video the member may not see, or older than the retention: not stored


# Upper apps (the recommender: "see less") learn of a member's events once the batch commits. A
# listener gets the batch's events about videos the member may see (new ones and ones stored before:
# react idempotently); its failure is logged and never refuses the batch, which is stored by then.
ViewEventsListener = Callable[[UUID, Sequence[EventIn]], None]
_listeners: list[ViewEventsListener] = []


def view_events_listener_register(listener: ViewEventsListener) -> ViewEventsListener:
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def _listeners_run(user_id: UUID, rows: Sequence[EventIn]) -> None:
    for listener in _listeners:
        listener(user_id, rows)


def view_events_ingest(*, user_id: UUID, events: Sequence[EventIn]) -> EventsReceipt:
    """Store a batch of `user_id`'s events and count what they add to the videos' counters.

    A time ahead of the server's clock is taken as now (phones' clocks drift); a time older than
    FEED_EVENTS_RETENTION_DAYS is ignored (pruning would delete it at once)."""
    now = timezone.now()
    oldest = now - timedelta(days=settings.FEED_EVENTS_RETENTION_DAYS)
    visible = set(
        videos_visible_to(viewer_id=user_id)
        .filter(id__in={event.video_id for event in events})
        .order_by()
        .values_list("id", flat=True)
    )
    rows: list[EventIn] = []
    seen: set[str] = set()
    for event in events:
        if event.client_event_id in seen:
            continue
        seen.add(event.client_event_id)
        if event.video_id in visible and event.occurred_at >= oldest:
            rows.append(event)
    ignored = len(seen) - len(rows)
    accepted = 0
    if rows:
        with transaction.atomic():
            accepted, deltas = _insert(user_id, rows, now)
            _counters_add(_counted(user_id, deltas))
        if _listeners:
            transaction.on_commit(partial(_listeners_run, user_id, tuple(rows)), robust=True)
    return EventsReceipt(accepted=accepted, duplicates=len(events) - accepted - ignored, ignored=ignored)


def _array(values: Iterable[object]) -> str:
    """A Postgres array literal: one parameter for a whole column, which the driver quotes once
    (adapting 500-item lists value by value costs more than the INSERT itself)."""
    return "{" + ",".join(f'"{value}"' for value in values) + "}"


def _text_array(values: Iterable[str]) -> str:
    """The same for text, each element escaped: the API lets no quote or backslash through, but
    another caller might."""
    return _array(value.replace("\\", "\\\\").replace('"', '\\"') for value in values)


def _insert(user_id: UUID, rows: Sequence[EventIn], now: datetime) -> tuple[int, dict[UUID, list[int]]]:
    """How many rows were new (the others were stored before), and per video what they add to
    (views, watch_ms, shares); in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT,
            [
                user_id,
                now,
                _array(row.video_id for row in rows),
                _text_array(row.client_event_id for row in rows),
                _text_array(row.kind for row in rows),
                _array(row.watch_ms for row in rows),
                _array(min(row.occurred_at, now).isoformat() for row in rows),
            ],
        )
        per_video = cursor.fetchall()
    inserted = sum(row[1] for row in per_video)
    return inserted, {row[0]: [int(n) for n in row[2:]] for row in per_video if any(row[2:])}


def _caps() -> tuple[int, int, int]:
    window_s = settings.FEED_EVENTS_COUNT_WINDOW_S
    return (1, window_s * 1000, 1)  # one view, the window's length of watching, one share


# Per key: start the window if none is open, then add to it; the totals come back in the keys' order.
# A script runs atomically (as MULTI/EXEC did: a window cannot expire between its SET and its INCRBY),
# and a batch's hundred keys travel as one command instead of two hundred pipelined ones.
_COUNT_SCRIPT = """
local totals = {}
for i, key in ipairs(KEYS) do
    redis.call('SET', key, 0, 'NX', 'EX', ARGV[1])
    totals[i] = redis.call('INCRBY', key, ARGV[i + 1])
end
return totals
"""


@cache
def _redis(url: str) -> Any:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


@cache
def _count_script(url: str) -> Any:
    return _redis(url).register_script(_COUNT_SCRIPT)


def _counted(user_id: UUID, deltas: dict[UUID, list[int]]) -> dict[UUID, list[int]]:
    """`deltas` capped by what this member already had counted for each video in the current window
    (one Redis round trip: `_COUNT_SCRIPT`)."""
    window_s, caps = settings.FEED_EVENTS_COUNT_WINDOW_S, _caps()
    keys = [(video_id, i) for video_id, delta in deltas.items() for i in range(3) if delta[i]]
    if not keys:
        return {}
    try:
        totals = _count_script(settings.REDIS_URL)(
            keys=[f"kino:feed:counted:{user_id}:{video_id}:{COUNTERS[i]}" for video_id, i in keys],
            args=[window_s, *(deltas[video_id][i] for video_id, i in keys)],
        )
    except (redis.RedisError, OSError):
        # The events are stored either way; without Redis, the batch alone is capped, as if the
        # window opened now.
        logger.warning("feed.events_window_unavailable", exc_info=True)
        totals = [deltas[video_id][i] for video_id, i in keys]
    for (video_id, i), total in zip(keys, totals, strict=True):
        added = deltas[video_id][i]
        deltas[video_id][i] = max(0, min(added, caps[i] - (int(total) - added)))
    return {video_id: delta for video_id, delta in deltas.items() if any(delta)}


def _counters_add(deltas: dict[UUID, list[int]]) -> None:
    if not deltas:
        return
    video_ids = list(deltas)
    with connection.cursor() as cursor:
        cursor.execute(
            _COUNTERS_ADD,
            [video_ids, *([deltas[video_id][i] for video_id in video_ids] for i in range(3))],
        )


def view_events_prune(*, batch_size: int = PRUNE_BATCH, max_batches: int = PRUNE_MAX_BATCHES) -> int:
    """Delete the events received more than FEED_EVENTS_RETENTION_DAYS ago, `batch_size` rows per
    statement (each its own short transaction), at most `max_batches` statements per call."""
    cutoff = timezone.now() - timedelta(days=settings.FEED_EVENTS_RETENTION_DAYS)
    deleted = 0
    with connection.cursor() as cursor:
        for _ in range(max_batches):
            cursor.execute(_PRUNE, [cutoff, batch_size])
            deleted += cursor.rowcount
            if cursor.rowcount < batch_size:
                break
    if deleted:
        logger.info("feed.view_events_pruned", extra={"count": deleted})
    return deleted
