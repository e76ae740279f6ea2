"""A prompt's words and phrases labelled with the world's attributes, by meaning.

Every phrase of one to three words inside a clause is embedded with the sentence embedder the built-in
model reads prompts with (all-MiniLM-L6-v2) and compared with the vocabulary's anchors; a word the
embedder reads badly (a typo: "bouncng") is also matched letter by letter. A dynamic programme then
picks the labelling of the whole prompt that covers the most content words with the best matches,
each word in at most one labelled phrase.
"""

from __future__ import annotations

import difflib
import re
import threading
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from generation.enhance.vocabulary import ANCHORS, COLOUR, GROUND, SIZES, STOPWORDS, TINTS

if TYPE_CHECKING:
    from generation.builtin.text import TextEncoder

MAX_WORDS = 3  # the longest phrase compared with the anchors
# How close (cosine) a phrase must come to an anchor to take its value, per attribute. Single words
# score low even when they mean the same (crimson-red 0.51, navy-blue 0.29, for words with no anchor
# of their own), so these sit well below 1; the anchors' many synonyms do the rest.
THRESHOLDS = {
    "colour": 0.7,  # below: metal 0.68 (orange), sun 0.66 (yellow)
    "shape": 0.7,  # below: bird 0.67 (fish), dog 0.66 (cat)
    "motion": 0.65,
    "speed": 0.68,  # below: soft 0.66 (slowly)
    "background": 0.68,  # below: light 0.65 (night), flower 0.6 (field)
    "camera": 0.68,  # below: photo 0.63
    "move": 0.72,  # below: water 0.62, plane 0.7
    "hit": 0.6,
}
TINTED_THRESHOLD = 0.5  # for a word said to be a colour ("ocean coloured"): only which colour is open
SPAN_COST = 0.05  # per labelled phrase: of two labellings that cover the same words, the one with fewer
# A function word counts a little: of "runs" and "runs into", equally close, the longer phrase wins.
STOPWORD_WEIGHT = 0.1
FUZZY_CUTOFF = 0.8  # difflib's ratio for a word to count as a misspelling of an anchor word
FUZZY_MIN_LENGTH = 4  # shorter words are too easily one letter from another word
SWAPPED = 0.9  # how sure a word with two neighbouring letters swapped is the anchor word


@dataclass(frozen=True)
class Token:
    text: str  # as written (lower case): what `unmapped` reports
    clause: int  # commas, semicolons and full stops end a clause: phrases never cross them
    content: bool  # not a function word
    core: str  # what is compared with the anchors: "honey-coloured" -> "honey"
    tinted: bool = False  # said to be a colour: "honey-coloured", "ocean coloured", "ocean-blue"


@dataclass(frozen=True)
class Span:
    start: int  # first token
    end: int  # one past the last token
    attribute: str
    value: str
    score: float  # cosine to the nearest anchor (or the letter match's ratio)
    bar: float = 0.0  # the threshold it passed: what a labelling gains from it is score - bar


@dataclass(frozen=True)
class Vocabulary:
    embeddings: np.ndarray  # [A, 384] L2-normalised, one row per anchor, grouped by value
    values: tuple[tuple[str, str], ...]  # (attribute, value) per group
    starts: np.ndarray  # [V] each group's first row
    words: dict[str, int]  # single-word anchors -> their value's index, for the letter-by-letter match
    known: frozenset[str]  # the embedder's whole-word tokens: real words, never read as misspellings
    colours: frozenset[str]  # single-word colour anchors: a hyphenated word's colour part ("cherry-red")


# A cameo's @handle is one token, left out: the cast stage draws the cameo, not the caption.
_WORD = re.compile(r"@[a-z0-9_.]+|[a-z0-9]+(?:['-][a-z0-9]+)*|[,.;:!?]")


def tokenize(prompt: str) -> list[Token]:
    tokens: list[Token] = []
    clause = 0
    for match in _WORD.finditer(prompt.lower()):
        text = match.group()
        if text.startswith("@"):
            continue
        if text in ",.;:!?":
            clause += 1
            continue
        head, _, tail = text.rpartition("-")
        core = head if head and tail in STOPWORDS else text
        tinted = bool(head) and (tail in TINTS or tail in ANCHORS[COLOUR] or tail.endswith("ish"))
        tokens.append(Token(text, clause, text not in STOPWORDS, core, tinted))
    return [
        replace(t, tinted=True) if i + 1 < len(tokens) and tokens[i + 1].text in TINTS else t
        for i, t in enumerate(tokens)
    ]


@lru_cache(maxsize=1)
def encoder() -> TextEncoder:
    """The process's one sentence embedder (loaded on first use: about 3 s on a CPU)."""
    from generation.builtin.text import TextEncoder

    return TextEncoder()


# How much embedding this process has done: what keeps later calls cheap is that this barely grows.
embedded = {"calls": 0, "texts": 0}


# One caller at a time (the web process serves previews from several threads): the thread count is
# set and restored in pairs, the encoder loads once, the phrase cache is never read while cleared.
_lock = threading.RLock()


def embed(texts: list[str]) -> np.ndarray:
    """Embed on one thread: a few short phrases gain nothing from more, and on a busy machine (a worker
    beside a render, 2 cores) torch's thread pool waiting for cores made a call 5-20x slower
    (40 ms -> 200-800 ms)."""
    import torch

    with _lock:
        encode = encoder()
        embedded["calls"] += 1
        embedded["texts"] += len(texts)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return encode(texts).pooled.numpy()
        finally:
            torch.set_num_threads(threads)


_seen: dict[str, np.ndarray] = {}
SEEN_MAX = 20000  # phrases kept (1.5 KB each): prompts repeat their words, so most are met again


def embed_phrases(texts: list[str]) -> np.ndarray:
    """Embeddings of a prompt's phrases, each computed once per process (up to SEEN_MAX of them)."""
    with _lock:
        new = sorted({t for t in texts if t not in _seen})
        if new:
            if len(_seen) + len(new) > SEEN_MAX:
                _seen.clear()
            _seen.update(zip(new, embed(new), strict=True))
        return np.stack([_seen[t] for t in texts])


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """Every anchor embedded once per process."""
    values = tuple((attribute, value) for attribute, by_value in ANCHORS.items() for value in by_value)
    groups = [ANCHORS[attribute][value] for attribute, value in values]
    starts = np.cumsum([0] + [len(g) for g in groups[:-1]])
    words = {phrase: i for i, group in enumerate(groups) for phrase in group if " " not in phrase}
    known = frozenset(w for w in encoder().tokenizer.get_vocab() if w.isalpha())
    colours = frozenset(
        w for w in words if " " not in w and w in {p for g in ANCHORS[COLOUR].values() for p in g}
    )
    anchors = embed([phrase for group in groups for phrase in group])
    return Vocabulary(anchors, values, starts, words, known, colours)


@lru_cache(maxsize=1)
def _edges() -> tuple[frozenset[str], frozenset[str]]:
    """The function words some anchor starts with ("to the left") and ends with ("bumps into")."""
    phrases = [p.split() for values in ANCHORS.values() for group in values.values() for p in group]
    return (
        frozenset(w[0] for w in phrases if w[0] in STOPWORDS),
        frozenset(w[-1] for w in phrases if w[-1] in STOPWORDS),
    )


def _phrases(tokens: list[Token]) -> list[tuple[int, int]]:
    """(start, end) of the phrases of 1 to MAX_WORDS tokens inside a clause that may match an anchor:
    with a content word, and starting and ending as some anchor does (not "a red", "ball on")."""
    first, last = _edges()
    found = []
    for start in range(len(tokens)):
        for end in range(start + 1, min(start + MAX_WORDS, len(tokens)) + 1):
            words = tokens[start:end]
            if words[-1].clause != words[0].clause:
                break
            edges = (words[0].content or words[0].text in first) and (
                words[-1].content or words[-1].text in last
            )
            # A size word ("small") is no attribute of the world: only the second object's (scene.py);
            # every background has a floor, so "floor" alone names none.
            bare = all(t.text in GROUND or not t.content for t in words)
            if edges and not bare and not any(t.text in SIZES for t in words):
                found.append((start, end))
    return found


def _swaps(word: str) -> list[str]:
    """The word with two neighbouring letters swapped, each way: "bleu" -> "lbeu", "belu", "blue"."""
    return [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)]


@lru_cache(maxsize=8192)
def _misspelt(word: str) -> tuple[tuple[int, float], ...]:
    """The values a word may be a misspelling of: two letters swapped ("pnik"), or close by difflib's
    ratio ("bouncng"), with how sure that is; or a hyphenated word's colour ("cherry-red"). A word the
    embedder knows whole is a word, not a typo ("bright" is not "right", nor "carpet" "carp")."""
    vocab = vocabulary()
    if word in vocab.words:
        return ((vocab.words[word], 1.0),)
    parts = [(vocab.words[part], 0.95) for part in word.split("-") if "-" in word and part in vocab.colours]
    if word in vocab.known:
        return tuple(parts)
    parts += [(vocab.words[swap], SWAPPED) for swap in _swaps(word) if swap in vocab.words]
    if len(word) >= FUZZY_MIN_LENGTH:
        candidates = [w for w in vocab.words if len(w) >= FUZZY_MIN_LENGTH]
        close = difflib.get_close_matches(word, candidates, n=3, cutoff=FUZZY_CUTOFF)
        parts += [(vocab.words[w], difflib.SequenceMatcher(None, word, w).ratio()) for w in close]
    return tuple(parts)


def _best(tokens: list[Token], phrases: list[tuple[int, int]]) -> list[dict[str, tuple[str, float]]]:
    """Per phrase, per attribute: the nearest value and how near."""
    vocab = vocabulary()
    texts = [" ".join(t.core for t in tokens[s:e]) for s, e in phrases]
    scores = np.maximum.reduceat(embed_phrases(texts) @ vocab.embeddings.T, vocab.starts, axis=1)  # [P, V]
    found = []
    for (start, end), row in zip(phrases, scores, strict=True):
        if end - start == 1:
            for index, ratio in _misspelt(tokens[start].core):
                row[index] = max(row[index], ratio)
        top: dict[str, tuple[str, float]] = {}
        for (attribute, value), score in zip(vocab.values, row.tolist(), strict=True):
            if score > top.get(attribute, ("", -1.0))[1]:
                top[attribute] = (value, score)
        found.append(top)
    return found


def candidates(tokens: list[Token]) -> list[Span]:
    """Each phrase's best value per attribute, where it comes close enough to an anchor, and no less
    close than a shorter phrase inside it with the same value ("big pink" is less pink than "pink":
    "big" stays out; "up and down" is a bounce, unlike "up" and "down")."""
    phrases = _phrases(tokens)
    if not phrases:
        return []
    best = dict(zip(phrases, _best(tokens, phrases), strict=True))
    spans = []
    for (start, end), top in best.items():
        if end - start == 1 and tokens[start].tinted:  # a colour, whatever else the word may mean
            value, score = top[COLOUR]
            if score >= TINTED_THRESHOLD:
                spans.append(Span(start, end, COLOUR, value, score, TINTED_THRESHOLD))
            continue
        for attribute, (value, score) in top.items():
            inner = [
                best[p][attribute][1]
                for p in _inside(start, end)
                if p in best and best[p][attribute][0] == value
            ]
            if score >= THRESHOLDS[attribute] and all(score >= s - 1e-3 for s in inner):
                spans.append(Span(start, end, attribute, value, score, THRESHOLDS[attribute]))
    return spans


def _inside(start: int, end: int) -> list[tuple[int, int]]:
    return [(s, e) for s in range(start, end) for e in range(s + 1, end + 1) if (s, e) != (start, end)]


def label(tokens: list[Token]) -> list[Span]:
    """The labelling that scores best: each phrase gains (its words) x (score - its threshold)."""
    by_end: dict[int, list[Span]] = {}
    for span in candidates(tokens):
        by_end.setdefault(span.end, []).append(span)
    best = [0.0] * (len(tokens) + 1)
    choice: list[Span | None] = [None] * (len(tokens) + 1)
    for end in range(1, len(tokens) + 1):
        best[end], choice[end] = best[end - 1], None
        for span in by_end.get(end, []):
            words = sum(1.0 if t.content else STOPWORD_WEIGHT for t in tokens[span.start : span.end])
            gain = words * (span.score - span.bar) - SPAN_COST
            if best[span.start] + gain > best[end]:
                best[end], choice[end] = best[span.start] + gain, span
    chosen: list[Span] = []
    end = len(tokens)
    while end > 0:
        picked = choice[end]
        if picked is None:
            end -= 1
        else:
            chosen.append(picked)
            end = picked.start
    return chosen[::-1]
