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


@dataclass(frozen=True)
class Pool:
    """The candidates as the mix sees them; arrays of one row per candidate."""

    creators: list[UUID]
    scores: np.ndarray  # [n]
    vectors: np.ndarray  # [n, d] unit rows
    followed: np.ndarray  # [n] bool: by someone the member follows
    fresh: np.ndarray  # [n] bool: proposed for exploration


def _allowed(
    codes: np.ndarray, placed: list[int], page: list[int], used: np.ndarray, rules: Rules
) -> np.ndarray:
    """Unplaced candidates whose creator is neither the previous item's nor at the page's maximum;
    `codes` numbers the creators 0..k-1."""
    counts = np.bincount(codes[page], minlength=int(codes.max()) + 1)
    barred = counts >= rules.creator_max
    if placed:
        barred[codes[placed[-1]]] = True
    return ~used & ~barred[codes]


def _quota(allowed: np.ndarray, pool: Pool, page: list[int], rules: Rules) -> np.ndarray:
    """The allowed candidates this position must come from: a share that is behind, else all."""
    # Fresh first: its share is small and due at fixed positions; follows catch up on the next ones.
    for flags, share in ((pool.fresh, rules.fresh_share), (pool.followed, rules.follow_share)):
        wanted = math.floor(share * (len(page) + 1))
        have = sum(1 for i in page if flags[i])
        if have < wanted and (allowed & flags).any():
            return allowed & flags
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
    placed: list[int] = []
    pages: list[list[int]] = [[]]
    while len(placed) < limit:
        page = pages[-1]
        choices = _quota(_allowed(codes, placed, page, used, rules), pool, page, rules)
        if not choices.any() or len(page) == rules.page_size:
            if not page:
                break  # nothing fits even a new page: the snapshot ends
            pages.append([])
            continue
        redundancy = similar[:, page].max(axis=1) if page else np.zeros(n)
        value = rules.mmr_lambda * relevance - (1 - rules.mmr_lambda) * redundancy
        best = int(np.argmax(np.where(choices, value, -np.inf)))
        page.append(best)
        placed.append(best)
        used[best] = True
    return [page for page in pages if page]


def rules_hold(creators: list[UUID], rules: Rules) -> bool:
    """The hard rules over one served page (the tests check every page with it)."""
    if any(a == b for a, b in itertools.pairwise(creators)):
        return False
    return len(creators) <= rules.page_size and all(creators.count(c) <= rules.creator_max for c in creators)
