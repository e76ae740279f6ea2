"""Mix and diversity: the pages a snapshot serves its ranked candidates in.

Greedy, one position at a time, over the candidates still unplaced, page by page:
- hard rules, never broken: not the creator of the previous item (across pages too), and at most
  `creator_max` items of one creator in a page; when no candidate fits, the page ends there (short)
  and the next one starts, so a member who follows three creators still scrolls all their posts;
- shares: while the page's fresh posts are fewer than `fresh_share` x its length so far (every tenth
  item by default), the position goes to one (a new post gets its exploration); likewise items from
  followed creators for `follow_share` (about half), while some are left;
- among the allowed ones, MMR (Carbonell and Goldstein): lambda x the normalised score - (1 - lambda)
  x the highest cosine similarity to the page's items so far, so near-duplicates spread out.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from uuid import UUID

import numpy as np


@dataclass(frozen=True)
class Rules:
    page_size: int = 20
    creator_max: int = 2
    follow_share: float = 0.5
    fresh_share: float = 0.1
    mmr_lambda: float = 0.75
    steer_share: float = 0.0  # while the member steers: this share of a page from the steering's ANN


@dataclass(frozen=True)
class Pool:
    """The candidates as the mix sees them; arrays of one row per candidate."""

    creators: list[UUID]
    scores: np.ndarray  # [n]
    vectors: np.ndarray  # [n, d] unit rows
    followed: np.ndarray  # [n] bool: by someone the member follows
    fresh: np.ndarray  # [n] bool: proposed for exploration
    steered: np.ndarray | None = None  # [n] bool: proposed by a steering clause's ANN (None: none)


class _Page:
    """The page being filled: its items and running tallies (each position costs a few vector ops)."""

    def __init__(self, n: int, creators: int) -> None:
        self.items: list[int] = []
        self.per_creator = np.zeros(creators, dtype=np.int64)
        self.redundancy = np.zeros(n)  # each candidate's highest similarity to the page's items
        self.followed = 0
        self.fresh = 0
        self.steered = 0


def _choices(
    pool: Pool, codes: np.ndarray, page: _Page, last: int | None, used: np.ndarray, rules: Rules
) -> np.ndarray:
    """The candidates this position may take: unplaced, by neither the previous item's creator nor
    one at the page's maximum; then, when a share is behind (fresh first: its share is small and due
    at fixed positions; follows catch up on the next ones), only that share's."""
    barred = page.per_creator >= rules.creator_max
    if last is not None:
        barred = barred.copy()
        barred[codes[last]] = True
    allowed = ~used & ~barred[codes]
    length = len(page.items) + 1
    steered = pool.steered if pool.steered is not None else np.zeros(len(pool.creators), dtype=bool)
    for flags, share, have in (
        (pool.fresh, rules.fresh_share, page.fresh),
        (steered, rules.steer_share, page.steered),
        (pool.followed, rules.follow_share, page.followed),
    ):
        if have < math.floor(share * length):
            wanted = allowed & flags
            if wanted.any():
                return wanted
    return allowed


def mix(pool: Pool, *, limit: int, rules: Rules) -> list[list[int]]:
    """Pages of indices into the pool, in serving order, `limit` items in all at most."""
    n = len(pool.creators)
    if not n:
        return []
    spread = float(pool.scores.max() - pool.scores.min())
    relevance = (pool.scores - pool.scores.min()) / spread if spread > 0 else np.zeros(n)
    similar = pool.vectors @ pool.vectors.T
    numbers: dict[UUID, int] = {}
    codes = np.array([numbers.setdefault(c, len(numbers)) for c in pool.creators], dtype=np.int64)
    used = np.zeros(n, dtype=bool)
    pages: list[list[int]] = []
    page, last, placed = _Page(n, len(numbers)), None, 0
    while placed < limit:
        choices = (
            _choices(pool, codes, page, last, used, rules) if len(page.items) < rules.page_size else None
        )
        if choices is None or not choices.any():
            if not page.items:
                break  # nothing fits even a new page: the snapshot ends
            pages.append(page.items)
            page = _Page(n, len(numbers))
            continue
        value = rules.mmr_lambda * relevance - (1 - rules.mmr_lambda) * page.redundancy
        best = int(np.argmax(np.where(choices, value, -np.inf)))
        page.items.append(best)
        page.per_creator[codes[best]] += 1
        np.maximum(page.redundancy, similar[:, best], out=page.redundancy)
        page.followed += bool(pool.followed[best])
        page.fresh += bool(pool.fresh[best])
        page.steered += bool(pool.steered is not None and pool.steered[best])
        used[best], last, placed = True, best, placed + 1
    if page.items:
        pages.append(page.items)
    return pages


def rules_hold(creators: list[UUID], rules: Rules) -> bool:
    """The hard rules over one served page (the tests check every page with it)."""
    if any(a == b for a, b in itertools.pairwise(creators)):
        return False
    return len(creators) <= rules.page_size and all(creators.count(c) <= rules.creator_max for c in creators)
