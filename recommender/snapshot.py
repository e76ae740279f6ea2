"""A scrolling session's ranked snapshot in Redis, and the cursor that walks it.

The first page ranks and mixes once, for the whole session: up to RECOMMENDER_SNAPSHOT_ITEMS items cut
into pages (`mix`: the diversity rules hold per page), with each item's source, score and features
(for the impressions), stored under `kino:rec:snap:<kind>:<member>:<id>` for
RECOMMENDER_SNAPSHOT_TTL_S: a hash of one field per page and one for what every page needs (the
model's version and the pages' sizes). Pages 2..n are read from it, so nothing new arriving meanwhile
can repeat or skip an item, and a next page costs one Redis read of its own page (not the session's
200 items: parsing them all cost ~5 ms a page).

The cursor is signed (`django.core.signing`, its own salt): the snapshot's id, the page, where in it
to start (a teen's cap may cut a page) and how many items the session has served. A cursor that does
not verify is 400 `invalid_cursor`; one whose snapshot is gone (expired, Redis restarted, another
member's) starts a new snapshot, which leaves out what was served (the impressions), so the feed goes
on without repeating itself.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from uuid import UUID

import redis
from django.conf import settings
from django.core import signing

from config.errors import INVALID_CURSOR, KinoError
from recommender.candidates import redis_client

logger = logging.getLogger(__name__)

SALT = "recommender.feed.cursor"


@dataclass(frozen=True)
class SnapshotItem:
    video_id: UUID
    creator_id: UUID
    source: str
    score: float
    features: list[float]


@dataclass(frozen=True)
class SnapshotPage:
    """One page of a stored snapshot, as a request serves it."""

    key: str  # the snapshot's id, which impressions name as `page_key`
    model_version: str
    page_count: int
    offset: int  # the page's first item's place in the whole snapshot (the impression's `position`)
    items: list[SnapshotItem]


@dataclass(frozen=True)
class Snapshot:
    key: str
    model_version: str
    pages: list[list[SnapshotItem]]

    def page(self, n: int) -> SnapshotPage:
        """Page `n` (an empty page past the end)."""
        items = self.pages[n] if n < len(self.pages) else []
        offset = sum(len(p) for p in self.pages[:n])
        return SnapshotPage(self.key, self.model_version, len(self.pages), offset, items)


@dataclass(frozen=True)
class Cursor:
    snapshot: str
    page: int
    start: int
    served: int  # items this session has served before this page (the check-in counts them)


def cursor_encode(cursor: Cursor) -> str:
    return signing.dumps(
        [cursor.snapshot, cursor.page, cursor.start, cursor.served], salt=SALT, compress=True
    )


def cursor_decode(value: str) -> Cursor:
    try:
        snapshot, page, start, served = signing.loads(value, salt=SALT)
        if not isinstance(snapshot, str) or not all(
            isinstance(n, int) and n >= 0 for n in (page, start, served)
        ):
            raise ValueError(value)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise KinoError(INVALID_CURSOR, field="cursor") from exc
    return Cursor(snapshot=snapshot, page=page, start=start, served=served)


def _key(kind: str, user_id: UUID, snapshot: str) -> str:
    return f"kino:rec:snap:{kind}:{user_id}:{snapshot}"


def snapshot_new_key() -> str:
    return secrets.token_urlsafe(12)


def snapshot_store(kind: str, user_id: UUID, snapshot: Snapshot) -> None:
    """Store it for the session; without Redis the session still gets this page, and its next cursor
    starts a new snapshot (nothing served repeats: the impressions are logged)."""
    meta = {"v": snapshot.model_version, "sizes": [len(p) for p in snapshot.pages]}
    fields = {"meta": json.dumps(meta, separators=(",", ":"))}
    for n, page in enumerate(snapshot.pages):
        rows = [[str(i.video_id), str(i.creator_id), i.source, i.score, i.features] for i in page]
        fields[str(n)] = json.dumps(rows, separators=(",", ":"))
    key = _key(kind, user_id, snapshot.key)
    try:
        pipe = redis_client().pipeline(transaction=True)  # never a hash without its expiry
        pipe.hset(key, mapping=fields)
        pipe.expire(key, settings.RECOMMENDER_SNAPSHOT_TTL_S)
        pipe.execute()
    except (redis.RedisError, OSError):
        logger.warning("recommender.snapshot_unstored", extra={"user_id": str(user_id)}, exc_info=True)


def snapshot_load(kind: str, user_id: UUID, key: str, page: int) -> SnapshotPage | None:
    """Page `page` of the member's stored snapshot `key`; None when it is gone or has no such page."""
    try:
        meta, body = redis_client().hmget(_key(kind, user_id, key), ["meta", str(page)])
    except (redis.RedisError, OSError):
        logger.warning("recommender.snapshot_unavailable", extra={"user_id": str(user_id)}, exc_info=True)
        return None
    if meta is None or body is None:
        return None
    head = json.loads(meta)
    sizes = head["sizes"]
    items = [SnapshotItem(UUID(v), UUID(c), source, score, f) for v, c, source, score, f in json.loads(body)]
    return SnapshotPage(key, head["v"], len(sizes), sum(sizes[:page]), items)
