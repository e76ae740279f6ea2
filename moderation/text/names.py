"""Public figures' names, aliases and roles in text, after normalisation (see `normalize`).

Matching runs on token boundaries of the normalised text, so `hanks` never matches inside `thanks`
and "a tomato and a hank of yarn" names nobody. Two narrow extra passes catch what a boundary
misses without firing on ordinary words:
- a multi-word name written as one word (`realtomhanks`, `TomHanks_official`) is looked for inside
  words, since its joined letters (at least `JOINED_MIN` of them) do not occur in ordinary words;
- a name spelled out one character at a time (`t o m  h a n k s`, `T.O.M. H-A-N-K-S`): runs of at
  least `SPELLED_MIN` one-character tokens are joined into one word before matching;
- a name cut in pieces at odd places (`Scar-Jo`, `br yan cran ston`): up to `SPLIT_MAX` adjacent
  words put back together, when they make a whole name of at least `SPLIT_MIN` letters;
- a multi-word name with its long words (`NEAR_MIN` letters or more) one letter off
  (`Scarlet Johanson`); short words must match exactly, so "I will smite you" is not Will Smith.

The compiled index is built once per process and rebuilt when the registry changes: writes that
change names call `figure_names_changed()`, which bumps a version token in the shared cache; every
check reads it (one cache round trip). A write that bypasses that call (a shell, a bulk update) is
picked up within `MODERATION_TEXT_NAMES_MAX_AGE_S` at the latest.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from moderation.models import PublicFigure
from moderation.text.normalize import name_key, name_variants

VERSION_KEY = "moderation:text:names:version"
JOINED_MIN = 7  # letters of a multi-word name written as one word, looked for inside words
SPELLED_MIN = 3  # one-character tokens in a row that are read as one spelled-out word
SPLIT_MIN = 6  # letters of a name cut in pieces (`scar-jo`), put back together from adjacent words
SPLIT_MAX = 4  # pieces
NEAR_MIN = 6  # a word of a multi-word name this long may be one letter off (`johanson`)


@dataclass(frozen=True)
class NameMatch:
    figure_id: UUID
    figure_name: str
    field: str  # "name", "alias" or "role"
    registered: str  # the registered spelling that matched
    how: str  # "words", "joined" (inside a word) or "spelled" (one character at a time)


@dataclass(frozen=True)
class NameIndex:
    by_tokens: dict[tuple[str, ...], NameMatch]  # every registered spelling
    longest: int
    joined: re.Pattern[str] | None  # multi-word names written as one word, looked for inside words
    joined_names: dict[str, NameMatch]  # every name's letters run together (`scarjo`, `tomhanks`)
    near: dict[str, set[str]]  # a long name word, and each of it less one letter -> the name words
    near_keys: dict[str, list[tuple[str, ...]]]  # multi-word names with a long word, by first word

    def find(self, text: str) -> NameMatch | None:
        for tokens in name_variants(text):
            for words, how in ((tokens, "words"), (_spelled_joined(tokens), "spelled")):
                match = self._find_in(words, how)
                if match is not None:
                    return match
        return None

    def _find_in(self, tokens: list[str], how: str) -> NameMatch | None:
        return (
            self._exact(tokens, how)
            or self._split(tokens, how)
            or self._inside(tokens, how)
            or self._misspelt(tokens, how)
        )

    def _exact(self, tokens: list[str], how: str) -> NameMatch | None:
        for i in range(len(tokens)):
            for n in range(1, min(self.longest, len(tokens) - i) + 1):
                match = self.by_tokens.get(tuple(tokens[i : i + n]))
                if match is not None:
                    return _as(match, how)
        return None

    def _split(self, tokens: list[str], how: str) -> NameMatch | None:
        """A name cut in pieces at odd places (`scar-jo`, `br yan cran ston`)."""
        for i in range(len(tokens)):
            joined = tokens[i]
            for token in tokens[i + 1 : i + SPLIT_MAX]:
                joined += token
                match = self.joined_names.get(joined) if len(joined) >= SPLIT_MIN else None
                if match is not None:
                    return _as(match, "split")
        return None

    def _inside(self, tokens: list[str], how: str) -> NameMatch | None:
        if self.joined is None:
            return None
        for token in tokens:
            found = self.joined.search(token) if len(token) >= JOINED_MIN else None
            if found is not None:
                return _as(self.joined_names[found.group()], how if how == "spelled" else "joined")
        return None

    def _misspelt(self, tokens: list[str], how: str) -> NameMatch | None:
        """A multi-word name with a long word one letter off (`Scarlet Johanson`)."""
        readings = [self._near(t) for t in tokens]
        for i, first in enumerate(readings):
            for word in first:
                for key in self.near_keys.get(word, ()):
                    if len(key) <= len(tokens) - i and all(k in readings[i + j] for j, k in enumerate(key)):
                        return _as(self.by_tokens[key], "misspelt")
        return None

    def _near(self, token: str) -> set[str]:
        words = {token}
        if len(token) >= NEAR_MIN - 1:
            for variant in (token, *_less_one(token)):
                words |= self.near.get(variant, set())
        return words


def _less_one(word: str) -> list[str]:
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


def _as(match: NameMatch, how: str) -> NameMatch:
    return NameMatch(match.figure_id, match.figure_name, match.field, match.registered, how)


def _spelled_joined(tokens: list[str]) -> list[str]:
    """Runs of `SPELLED_MIN` or more one-character tokens joined into one word."""
    out: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1:
            run.append(token)
            continue
        out.extend(["".join(run)] if len(run) >= SPELLED_MIN else run)
        run = []
        if token:
            out.append(token)
    return out


def _figure_keys(figure: PublicFigure) -> list[tuple[tuple[str, ...], NameMatch]]:
    named = (
        [("name", figure.name)] + [("alias", a) for a in figure.aliases] + [("role", r) for r in figure.roles]
    )
    out = []
    for field, registered in named:
        key = name_key(registered)
        if not key or sum(map(len, key)) < 2:
            continue
        out.append((key, NameMatch(figure.id, figure.name, field, registered, "words")))
    return out


def index_build(figures: list[PublicFigure]) -> NameIndex:
    by_tokens: dict[tuple[str, ...], NameMatch] = {}
    for figure in figures:
        if figure.blocks:
            for key, match in _figure_keys(figure):
                by_tokens.setdefault(key, match)
    joined_names = {"".join(k): m for k, m in by_tokens.items() if len("".join(k)) >= SPLIT_MIN}
    # Only multi-word names inside words: a one-word name inside a word is an ordinary word (`madonnas`).
    inside = sorted({"".join(k) for k in by_tokens if len(k) > 1 and len("".join(k)) >= JOINED_MIN}, key=len)
    inside.reverse()
    joined = re.compile("|".join(re.escape(j) for j in inside)) if inside else None
    near: dict[str, set[str]] = {}
    near_keys: dict[str, list[tuple[str, ...]]] = {}
    for key in by_tokens:
        long_words = [w for w in key if len(w) >= NEAR_MIN]
        if len(key) < 2 or not long_words:
            continue
        near_keys.setdefault(key[0], []).append(key)
        for word in long_words:
            for variant in (word, *_less_one(word)):
                near.setdefault(variant, set()).add(word)
    return NameIndex(
        by_tokens=by_tokens,
        longest=max((len(k) for k in by_tokens), default=0),
        joined=joined,
        joined_names=joined_names,
        near=near,
        near_keys=near_keys,
    )


# --- the per-process cache ------------------------------------------------------------------------

_lock = threading.Lock()
_cached: tuple[str, float, NameIndex] | None = None


def _version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:  # first use, or the cache was flushed: any index built before is stale
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY) or ""
    return str(version)


def name_index() -> NameIndex:
    """The index of every blocking figure's names, aliases and roles, rebuilt when the registry changed."""
    global _cached
    version = _version()
    cached = _cached
    max_age = settings.MODERATION_TEXT_NAMES_MAX_AGE_S
    if cached is not None and cached[0] == version and time.monotonic() - cached[1] < max_age:
        return cached[2]
    with _lock:
        index = index_build(list(PublicFigure.objects.filter(active=True)))
        _cached = (version, time.monotonic(), index)
    return index


def figure_names_changed() -> None:
    """Call after any write to the registry's names, aliases, roles, status or activity (the admin,
    the decision that blocks a likeness): every process rebuilds its index on its next check. The
    version moves once the write commits: a process that rebuilt before then would read the old rows
    and keep them under the new version."""
    transaction.on_commit(_version_bump, robust=True)


def _version_bump() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def name_find(text: str) -> NameMatch | None:
    return name_index().find(text)
