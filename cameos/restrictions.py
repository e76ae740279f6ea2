"""Cameo restrictions ("no political content", "never make me say anything about my employer"),
checked against a prompt by meaning.

A restriction is a negation and a topic. On save the negation is stripped ("never make me", "no",
"don't put me in") and the topic ("political content", "say anything about my employer") is
embedded with the text policy's sentence encoder (moderation.public.text_embed); the vector is
stored on the row, so a decision embeds only the prompt. The prompt is embedded once per decision,
whole and, when it is long, clause by clause (the @handles replaced by "a person"), and a
restriction is broken when its topic's cosine similarity to the prompt or to one of its clauses
reaches TOPIC_THRESHOLD. The prompt goes through the encoder's bfloat16 copy where the CPU has
bfloat16 (`text_embed(quick=True)`): a generation request waits on it, and it is about 1.5x faster;
its similarities are within 0.002 of float32's, and on the labelled set below every pair is decided
as float32 decides it (the closest pair is 0.005 from the threshold).

A restriction that names a category of the text policy ("no violence", "nothing sexual") also
refuses a prompt whose score for that category reaches CATEGORY_THRESHOLD, lower than the policy's
own: the owner asked for none of it, not just nothing the policy would refuse anyway.

The thresholds were chosen on tests/cameos/data/restrictions.jsonl, a labelled set of (restriction,
prompt, refused) pairs written before any threshold was tried; `restrictions_evaluate` measures
precision and recall on it (see the README's cameos section and tests/cameos/test_restrictions.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from moderation.public import text_category_scores, text_embed

TOPIC_THRESHOLD = 0.22
CATEGORY_THRESHOLD = 0.6
MAX_CLAUSES = 24  # pieces read besides the whole prompt; a longer prompt's clauses are read in runs
# A prompt of at most this many words is read whole: a topic cannot drown in it, and one pass of the
# encoder (about 8 ms on one core in bfloat16, 13 in float32) is the whole cost of a decision's
# meaning. On the labelled set the whole prompt alone decides exactly as whole + clauses does; the
# clauses matter in long prompts.
WHOLE_ONLY_WORDS = 16
PROMPT_CACHE_SIZE = 512  # prompts whose embeddings a process keeps (about 1.5 KB a piece)

# What says "not" at the head of a restriction; stripped repeatedly, so "please never make me" goes.
_NEGATION = re.compile(
    r"^(?:please|pls|kindly|absolutely|strictly|i\s+(?:do\s+not|don'?t)\s+(?:want|allow|like)(?:\s+to)?|"
    r"i\s+(?:won'?t|will\s+not|refuse\s+to)|do\s+not|don'?t|never\s+ever|never|no\s+more|no|not|nothing|"
    r"none\s+of|avoid(?:ing)?|without|stay\s+away\s+from|keep\s+(?:me\s+)?(?:out\s+of|away\s+from)|"
    r"exclude|forbid(?:den)?|banned?|stop|refrain\s+from)\b[\s,:-]*",
    re.IGNORECASE,
)
# What says "with me" after the negation: "make me", "show me", "put me in", "use my face for".
_ME = re.compile(
    r"^(?:(?:make|show|have|let|put|use|depict|portray|cast|picture|film|feature|turn|get|see)\s+"
    r"(?:me|my\s+(?:face|likeness|cameo|image)|this\s+cameo|anyone)\s*(?:in(?:to)?|as|for|doing|be|being)?|"
    r"me\s+(?:in|as|doing|being)|using\s+(?:me|my\s+(?:face|likeness|cameo))\s*(?:in|for)?|"
    r"(?:any|anything|something)\s+(?:that\s+(?:is|involves|shows)\s+)?|content\s+(?:with|about|involving)|"
    r"videos?\s+(?:with|about|involving|of)|clips?\s+(?:with|about|involving|of))\b\s*",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z]{3,}")
_HANDLE = re.compile(r"(?<![\w.@])@[a-z0-9_.]+", re.IGNORECASE)
_CLAUSE = re.compile(
    r"[,.;:!?\n]+|\s+(?:and|while|then|but|with|as|who|whilst|because|before|after|where)\s+", re.IGNORECASE
)
# A restriction naming a text policy category (the category's own words, and the usual others).
CATEGORY_WORDS: dict[str, re.Pattern[str]] = {
    "violence": re.compile(r"\b(violen\w*|gore|gory|blood\w*|fight\w*|weapons?|guns?|kill\w*|murder\w*)\b"),
    "sexual": re.compile(r"\b(sex\w*|nud\w*|naked|explicit|nsfw|racy|lewd|suggestive|porn\w*|erotic\w*)\b"),
    "hate": re.compile(r"\b(hate\w*|hateful|racis\w*|slurs?|bigot\w*)\b"),
    "harassment": re.compile(r"\b(harass\w*|bully\w*|mock\w*|humiliat\w*|insult\w*)\b"),
    "self_harm": re.compile(r"\b(self[- ]?harm\w*|suicid\w*)\b"),
    "extremism": re.compile(r"\b(extremis\w*|terroris\w*|radical\w*)\b"),
    "misleading": re.compile(r"\b(misinformation|disinformation|fake news|misleading|hoax\w*)\b"),
}


def restriction_topic(text: str) -> str:
    """What the restriction is about: its negation and "make me" stripped ("never make me say
    anything about my employer" -> "say anything about my employer")."""
    topic = text.strip().rstrip(".!")
    for _ in range(6):
        stripped = _ME.sub("", _NEGATION.sub("", topic, count=1), count=1).strip(" ,:-")
        if stripped == topic:
            break
        topic = stripped
    return topic or text.strip()


def restriction_categories(text: str) -> tuple[str, ...]:
    lowered = text.lower()
    return tuple(category for category, words in CATEGORY_WORDS.items() if words.search(lowered))


def restrictions_embed(texts: Sequence[str]) -> np.ndarray:
    """[len(texts), 384]: each restriction's topic embedded (stored on the row on save)."""
    if not texts:
        return np.zeros((0, 384), np.float32)
    return text_embed([restriction_topic(t) for t in texts])


def prompt_pieces(prompt: str) -> list[str]:
    """The prompt as a restriction reads it: whole, then its clauses (at least two words each)."""
    plain = _HANDLE.sub("a person", prompt).strip()
    if len(prompt.split()) <= WHOLE_ONLY_WORDS:  # words as typed: a @handle is one
        return [plain or prompt]
    # A clause says at least two words beyond the cast: "a person" alone (from "@a and @b ...") or
    # "cinematic" alone sits near anything (0.38 to "violence", 0.39 for the sexual category).
    clauses = [
        c.strip()
        for c in _CLAUSE.split(plain)
        if c and len(_WORD.findall(c.lower().replace("a person", ""))) >= 2
    ]
    clauses = list(dict.fromkeys(c for c in clauses if c.lower() != plain.lower()))
    return [plain, *_runs(clauses, MAX_CLAUSES)] if plain else [prompt]


def _runs(clauses: list[str], most: int) -> list[str]:
    """The clauses, or for more than `most` of them, `most` runs of consecutive clauses: every word of
    a long prompt is read (nothing past a cut-off escapes a restriction), at a bounded cost."""
    if len(clauses) <= most:
        return clauses
    size = -(-len(clauses) // most)  # ceil
    return [", ".join(clauses[i : i + size]) for i in range(0, len(clauses), size)]


@lru_cache(maxsize=PROMPT_CACHE_SIZE)
def _prompt_embedded(prompt: str) -> tuple[tuple[str, ...], np.ndarray]:
    """A prompt's pieces and their vectors. Cached by the prompt's text, which is all they depend on
    (the encoder is fixed per process), so never stale: one generation is decided three times (the
    request, the worker's recheck, the draft) and the rechecks reuse the request's embedding, while
    the restrictions and permissions are read afresh every time."""
    pieces = prompt_pieces(prompt)
    vectors = text_embed(pieces, quick=True)
    vectors.setflags(write=False)
    return tuple(pieces), vectors


@dataclass
class PromptView:
    """A prompt embedded once per decision (whole and by clause); category scores on demand."""

    pieces: list[str]
    vectors: np.ndarray  # [len(pieces), 384]
    teen: bool = False
    _categories: dict[str, float] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, prompt: str, *, teen: bool = False) -> PromptView:
        pieces, vectors = _prompt_embedded(prompt)
        return cls(pieces=list(pieces), vectors=vectors, teen=teen)

    def category_scores(self) -> dict[str, float]:
        if self._categories is None:
            scores = text_category_scores(self.vectors)
            self._categories = {category: float(values.max()) for category, values in scores.items()}
        return self._categories

    def topic_similarity(self, topic: np.ndarray) -> float:
        # einsum, not `@`: a product this small waits on BLAS threads (see moderation.text.categories)
        return float(np.einsum("ij,j->i", self.vectors, topic.astype(np.float32)).max())


def restriction_breaks(view: PromptView, text: str, embedding: Sequence[float] | np.ndarray) -> bool:
    if view.topic_similarity(np.asarray(embedding, dtype=np.float32)) >= TOPIC_THRESHOLD:
        return True
    categories = restriction_categories(text)
    if categories:
        scores = view.category_scores()
        return any(scores.get(category, 0.0) >= CATEGORY_THRESHOLD for category in categories)
    return False


class RestrictionLike(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def embedding(self) -> Any: ...


def restriction_broken(view: PromptView, restrictions: Sequence[RestrictionLike]) -> str | None:
    """The text of the first restriction the prompt goes against, or None."""
    for restriction in restrictions:
        if restriction.embedding is not None and restriction_breaks(
            view, restriction.text, restriction.embedding
        ):
            return restriction.text
    return None
