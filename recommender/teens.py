"""Teens' feed: a daily cap on served items, and the switches a linked guardian sets.

The cap is counted in Redis per member and day (the server's local day, TIME_ZONE): the feed asks
for the items it is about to serve with `teen_items_served`, which reserves what fits under the cap
atomically (two pages served at once cannot both take the last items) and answers how many did.
When nothing is left, the feed answers 429 `feed_daily_limit_reached` until midnight. Without Redis
the count falls back to the impressions logged today (what the feed really served): slower, but the
cap still holds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any
from uuid import UUID

import redis
from django.conf import settings
from django.utils import timezone

from accounts.public import member_standing
from config.errors import KinoError
from recommender import errors
from recommender.candidates import redis_client
from recommender.models import FeedProfile, Impression

logger = logging.getLogger(__name__)

DAY_S = 24 * 3600


@dataclass(frozen=True)
class TeenPolicy:
    """How the feed treats one member now. For adults: no cap and no switches."""

    is_teen: bool
    items_left_today: int | None  # None: no cap (adults); 0: the cap is reached
    personalisation_off: bool  # serve popular and fresh posts, no interest vectors, no steering
    continuous_scroll_off: bool  # one page per request: no next cursor, the teen pulls to refresh


ADULT = TeenPolicy(
    is_teen=False, items_left_today=None, personalisation_off=False, continuous_scroll_off=False
)


def teen_policy(user_id: UUID, *, is_teen: bool | None = None) -> TeenPolicy:
    """The member's policy now: one query for adults, two and a Redis read for teens. `is_teen`, when
    the caller has just read the member (the request's user), saves the first query."""
    if is_teen is None:
        standing = member_standing(user_id=user_id)
        is_teen = standing is not None and standing.is_teen
    if not is_teen:
        return ADULT
    switches = (
        FeedProfile.objects.filter(user_id=user_id)
        .values_list("personalisation_off", "continuous_scroll_off")
        .first()
    ) or (False, False)
    left = max(0, settings.RECOMMENDER_TEEN_DAILY_ITEMS - _served_today(user_id))
    return TeenPolicy(
        is_teen=True,
        items_left_today=left,
        personalisation_off=switches[0],
        continuous_scroll_off=switches[1],
    )


def teen_limit_require(policy: TeenPolicy) -> None:
    """Refuse the page when the teen has had today's items (429 `feed_daily_limit_reached`)."""
    if policy.items_left_today == 0:
        hours = max(1, round(_until_tomorrow_s() / 3600))
        message = f"That is all of today's {daily_items()} feed items; more in about {hours} h."
        raise KinoError(errors.FEED_DAILY_LIMIT_REACHED, message)


# Reserve up to ARGV[2] items under the cap ARGV[1]: what fits is added and returned, atomically.
_RESERVE = """
local served = tonumber(redis.call('GET', KEYS[1]) or '0')
local take = math.max(0, math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) - served))
if take > 0 then
    redis.call('INCRBY', KEYS[1], take)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return take
"""


def teen_items_served(user_id: UUID, n: int) -> int:
    """Count `n` items about to be served to a teen (call it only when `teen_policy(...).is_teen`):
    how many of them fit under today's cap, 0 to n. Serve that many; 0 means the cap is reached
    (`teen_limit_require` refuses the page)."""
    if n <= 0:
        return 0
    try:
        taken = int(
            _reserve_script(settings.REDIS_URL)(
                keys=[_key(user_id)], args=[settings.RECOMMENDER_TEEN_DAILY_ITEMS, n, 2 * DAY_S]
            )
        )
    except (redis.RedisError, OSError):
        logger.warning("recommender.teen_count_unavailable", extra={"user_id": str(user_id)}, exc_info=True)
        taken = max(0, min(n, settings.RECOMMENDER_TEEN_DAILY_ITEMS - _served_today_logged(user_id)))
    return taken


def daily_items() -> int:
    return int(settings.RECOMMENDER_TEEN_DAILY_ITEMS)


def teen_items_served_today(user_ids: list[UUID]) -> dict[UUID, int]:
    """Items served today to each member (what the cap counts), for their guardians: one Redis read."""
    try:
        counts = redis_client().mget([_key(user_id) for user_id in user_ids])
    except (redis.RedisError, OSError):
        logger.warning("recommender.teen_count_unavailable", exc_info=True)
        return {user_id: _served_today_logged(user_id) for user_id in user_ids}
    return {user_id: int(count or 0) for user_id, count in zip(user_ids, counts, strict=True)}


def _served_today(user_id: UUID) -> int:
    try:
        return int(redis_client().get(_key(user_id)) or 0)
    except (redis.RedisError, OSError):
        logger.warning("recommender.teen_count_unavailable", extra={"user_id": str(user_id)}, exc_info=True)
        return _served_today_logged(user_id)


def _served_today_logged(user_id: UUID) -> int:
    return Impression.objects.filter(user_id=user_id, served_at__gte=_midnight()).count()


def _midnight() -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def _key(user_id: UUID) -> str:
    return f"kino:recommender:teen_served:{user_id}:{timezone.localdate().isoformat()}"


@cache
def _reserve_script(url: str) -> Any:
    return redis_client().register_script(_RESERVE)


def _until_tomorrow_s() -> float:
    return (_midnight() + timedelta(days=1) - timezone.now()).total_seconds()
