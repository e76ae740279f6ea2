"""Who may be shown what: the one condition every candidate source shares.

A video is eligible for a member when it is in feeds (posted, not removed, not labelled "not in
feeds": `VideoVector.in_feeds`, kept in step by the vectors' listeners), not theirs, not by someone
blocked either way or muted by their steering, not served to them recently, and teen-appropriate for
a teen (`teen_ok`: no "not for teens" label; `teen_text_ok`: the text policy at teens' thresholds
allowed its caption and prompt). The condition is SQL over `recommender_videovector` (alias `v`), so
the filtered ANN applies it inside the index scan (pgvector's iterative scans keep going until
enough rows pass) instead of after it; the cards re-check visibility at the end (feed decides who
sees what), so a post blocked or removed after ranking never shows either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from accounts.public import block_partner_ids, followee_ids
from recommender.models import Impression


@dataclass(frozen=True)
class Audience:
    """One member as the filters see them, read once per snapshot."""

    user_id: UUID
    teen: bool
    followees: tuple[UUID, ...]
    excluded_creators: tuple[UUID, ...]  # blocked either way, or muted by the member's steering
    seen_since: datetime  # what was served to them since then is left out (RECOMMENDER_SEEN_S ago)


def audience_for(user_id: UUID, *, teen: bool, muted: frozenset[UUID] = frozenset()) -> Audience:
    """Two small queries: block partners and followees. What the member was served recently stays in
    the database: the condition reads it there (one index range on (user_id, -served_at))."""
    blocked = set(block_partner_ids(user_id=user_id).values_list("other", flat=True))
    return Audience(
        user_id=user_id,
        teen=teen,
        followees=tuple(f for f in followee_ids(user_id=user_id) if f not in blocked),
        excluded_creators=tuple(blocked | set(muted)),
        seen_since=timezone.now() - timedelta(seconds=settings.RECOMMENDER_SEEN_S),
    )


# The condition, with the member's values as slots: `eligible_sql` binds them as parameters (one
# statement), `eligible_shared` as reads of a CTE row, so a UNION of many branches sends each once.
_CONDITION = "v.in_feeds AND v.creator_id <> {me} AND NOT (v.creator_id = ANY({excluded}))"
_NOT_SEEN = " AND NOT (v.video_id = ANY({seen}))"
TEEN_SQL = " AND v.teen_ok AND v.teen_text_ok"  # an unjudged text (NULL) is not served to teens
# The videos served to the member since a time, newest first, at most RECOMMENDER_SEEN_MAX: an array
# computed once per statement (an InitPlan), never shipped to Python and back.
_SEEN = (
    f"ARRAY(SELECT i.video_id FROM {Impression._meta.db_table} i WHERE i.user_id = {{me}}"  # noqa: S608
    " AND i.served_at >= {since} ORDER BY i.served_at DESC LIMIT {limit})"
)


def _condition(audience: Audience, exclude_seen: bool) -> str:
    sql = _CONDITION + (_NOT_SEEN if exclude_seen else "")
    return sql + (TEEN_SQL if audience.teen else "")


def _seen(me: str, since: str) -> str:
    return _SEEN.format(me=me, since=since, limit=int(settings.RECOMMENDER_SEEN_MAX))


def eligible_sql(audience: Audience, *, exclude_seen: bool = True) -> tuple[str, list[object]]:
    """The eligibility condition over `v` and its parameters. The following feed keeps what was seen
    (people expect every post of whom they follow there); For You leaves it out."""
    params: list[object] = [audience.user_id, list(audience.excluded_creators)]
    if exclude_seen:
        params += [audience.user_id, audience.seen_since]
    seen = _seen("%s::uuid", "%s")
    return _condition(audience, exclude_seen).format(me="%s", excluded="%s::uuid[]", seen=seen), params


def eligible_shared(audience: Audience, *, exclude_seen: bool = True) -> tuple[str, str, list[object]]:
    """The same condition reading the member's values from a one-row CTE `f`: (the CTE, the condition,
    the CTE's parameters). Each branch reads them through a scalar subquery (an InitPlan, computed
    once), which keeps the branch's ORDER BY on the HNSW index."""
    seen = _seen("%s::uuid", "%s") if exclude_seen else "'{}'::uuid[]"
    cte = f"f AS (SELECT %s::uuid AS me, %s::uuid[] AS excluded, {seen} AS seen)"
    params: list[object] = [audience.user_id, list(audience.excluded_creators)]
    if exclude_seen:
        params += [audience.user_id, audience.seen_since]
    # The casts make `= ANY(...)` read an array value, not the rows of a subquery.
    reads = {
        "me": "(SELECT me FROM f)",
        "excluded": "(SELECT excluded FROM f)::uuid[]",
        "seen": "(SELECT seen FROM f)::uuid[]",
    }
    return cte, _condition(audience, exclude_seen).format(**reads), params
