"""Content categories of the text policy, judged on sentence embeddings against a labelled exemplar
set kept in the repository (`exemplars.jsonl`, one `{"text", "label"}` a line; a label is a
category or `benign`).

A multinomial logistic regression on the exemplars' embeddings decides; the exemplars nearest the
text explain the decision to a moderator. Why not nearest neighbours alone: in 5-fold
cross-validation on the exemplars (only), at 90 % recall of the harmful exemplars, a neighbour vote
(mean of the top 5 similarities per label, minus the benign ones') refused 12 % of the benign hard
negatives and the regression 9 %; the regression weighs the few words that separate "a chef slicing
onions with a sharp knife" from a stabbing, where a neighbour vote sees two texts about knives. It
is fitted when a process first needs it (seconds, deterministic) and kept with the exemplars'
embeddings in VAR_DIR/cache, keyed by a hash of the exemplars, for the next process.

The score of a category is its probability against benign alone, P(c) / (P(c) + P(benign)), so a
text between two harmful categories (hate and harassment) is not let through by the split; it is 0
when the nearest exemplars disagree (the benign ones clearly nearer than the category's), so "a
suicide prevention ad" sitting next to the benign exemplar of one is not refused on a few words. A
category refuses at or above its threshold (settings; teens' are lower, so stricter);
`sexual_minors` refuses for everyone alike, and also on an explicit sexual term next to a term for
a minor (a lexical rule).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings

from moderation.models import Category
from moderation.text.embed import embed, embed_quick
from moderation.text.normalize import clean_text

EXEMPLARS_PATH = Path(__file__).with_name("exemplars.jsonl")
BENIGN = "benign"
CATEGORIES: tuple[str, ...] = tuple(Category.values)
LABELS: tuple[str, ...] = (*CATEGORIES, BENIGN)
L2 = 0.001  # the regression's weight penalty (chosen by cross-validation on the exemplars)
MODEL_VERSION = "2"  # bump when the embedding or the fit changes, so cached fits are not reused
TOP_K = 3  # nearest exemplars per label that the agreement check averages
# The regression's refusal stands only if the text is not nearer its benign exemplars than the
# category's by more than this (cross-validated on the exemplars: benign refused 6.7 -> 5.3 %,
# harmful refused 91.8 -> 90.7 %); a refusal is then always backed by its explanation.
AGREEMENT_MARGIN = 0.05
MAX_CHUNKS = 8  # sentences of a long text judged one by one (and the whole text once)
_lock = threading.Lock()

_MINOR = re.compile(
    r"\b(child|children|kid|kids|minor|minors|underage|under-age|preteen|pre-teen|toddler|infant|"
    r"schoolgirl|schoolgirls|schoolboy|schoolboys|little (girl|boy)s?|young (girl|boy)s?|loli|lolita|shota|"
    r"(1[0-7]|[1-9])[ -]?(yo|y/o|years?[ -]old|year-old)|(eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen)[ -]years?[ -]old|middle school(er)?s?|grade school(er)?s?)\b"
)
_SEXUAL = re.compile(
    r"\b(sexy|sexual|sexually|nude|nudes|naked|topless|undress|undressing|undressed|"
    r"striptease|lingerie|erotic|porn|porno|pornographic|seductive|seducing|seduce|fondl\w*|"
    r"molest\w*|grop\w*|intercourse|orgasm\w*|aroused|xxx|nsfw|lewd|fetish\w*)\b"
)


@dataclass(frozen=True)
class Exemplar:
    text: str
    label: str


@dataclass(frozen=True)
class Nearest:
    text: str
    label: str
    similarity: float


@dataclass(frozen=True)
class CategoryJudgement:
    category: str  # "" when no category reaches its threshold
    score: float  # the category's score (the one closest to its threshold when none refuses)
    threshold: float
    nearest: tuple[Nearest, ...]  # the evidence: the exemplars the text sits closest to
    rule: str = ""  # "minor_sexual_terms" when the lexical rule decided


def exemplars_load(path: Path = EXEMPLARS_PATH) -> list[Exemplar]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    unknown = {r["label"] for r in rows} - set(LABELS)
    if unknown:
        raise ValueError(f"{path.name}: unknown labels {sorted(unknown)}")
    return [Exemplar(r["text"], r["label"]) for r in rows]


class ExemplarModel:
    """The exemplars' embeddings (the evidence) and the regression fitted on them (the decision)."""

    def __init__(self, exemplars: list[Exemplar], matrix: np.ndarray, weights: np.ndarray) -> None:
        self.exemplars = exemplars
        self.matrix = matrix  # [N, 384], unit rows
        self.weights = weights  # [385, len(LABELS)], the last row the bias
        labels = np.array([e.label for e in exemplars])
        self.rows = [np.flatnonzero(labels == label) for label in LABELS]

    @classmethod
    def fit(cls, exemplars: list[Exemplar], matrix: np.ndarray | None = None) -> ExemplarModel:
        if matrix is None:
            matrix = embed([clean_text(e.text) for e in exemplars])
        labels = np.array([LABELS.index(e.label) for e in exemplars])
        return cls(exemplars, matrix, regression_fit(matrix, labels))

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = np.einsum(
            "ij,jk->ik", np.hstack([vectors, np.ones((len(vectors), 1), vectors.dtype)]), self.weights
        )
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """[len(vectors), len(CATEGORIES)]: each category's probability against benign alone, or 0
        where the nearest exemplars disagree (the benign ones clearly nearer than the category's)."""
        p = self.probabilities(vectors)
        scores = p[:, :-1] / (p[:, :-1] + p[:, -1:])
        return np.where(self.benign_lead(vectors) > AGREEMENT_MARGIN, 0.0, scores)

    def benign_lead(self, vectors: np.ndarray) -> np.ndarray:
        """[len(vectors), len(CATEGORIES)]: how much nearer the text sits to its TOP_K nearest benign
        exemplars than to each category's (mean cosine similarity)."""
        sims = _similarities(vectors, self.matrix)
        near = np.stack([_top_mean(sims[:, rows]) for rows in self.rows], axis=1)
        return near[:, -1:] - near[:, :-1]

    def nearest(self, vector: np.ndarray, n: int = 5) -> tuple[Nearest, ...]:
        sims = _similarities(vector[None, :], self.matrix)[0]
        order = np.argsort(-sims)[:n]
        return tuple(
            Nearest(self.exemplars[i].text, self.exemplars[i].label, round(float(sims[i]), 3)) for i in order
        )


def _similarities(vectors: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Cosine similarities of unit rows. einsum, not `@`: a product this small on BLAS's threads waits
    for them to wake (12 ms on a busy machine, against 0.3 ms on this one)."""
    return np.einsum("ij,kj->ik", vectors, matrix)


def _top_mean(sims: np.ndarray) -> np.ndarray:
    if sims.shape[1] == 0:
        return np.full(sims.shape[0], -1.0)
    if sims.shape[1] <= TOP_K:
        return sims.mean(axis=1)
    return np.partition(sims, -TOP_K, axis=1)[:, -TOP_K:].mean(axis=1)


def regression_fit(x: np.ndarray, y: np.ndarray, l2: float = L2) -> np.ndarray:
    """Multinomial logistic regression, classes weighted to count alike, L2 on the weights (not the
    bias); L-BFGS from zeros, so the same exemplars always give the same weights."""
    from scipy.optimize import minimize

    n, d = x.shape
    k = len(LABELS)
    xb = np.hstack([x, np.ones((n, 1))]).astype(np.float64)
    onehot = np.eye(k)[y]
    counts = np.bincount(y, minlength=k).astype(np.float64)
    w = (1.0 / np.maximum(counts, 1.0))[y]
    w /= w.sum()

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        weights = flat.reshape(d + 1, k)
        logits = xb @ weights
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -(w * log_p[np.arange(n), y]).sum() + l2 * (weights[:-1] ** 2).sum()
        grad = xb.T @ (w[:, None] * (np.exp(log_p) - onehot))
        grad[:-1] += 2 * l2 * weights[:-1]
        return float(value), grad.ravel()

    result = minimize(loss, np.zeros((d + 1) * k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return np.asarray(result.x, dtype=np.float32).reshape(d + 1, k)


def _cache_path(exemplars_text: bytes) -> Path:
    digest = hashlib.sha256(exemplars_text + f"{MODEL_VERSION}:{L2}".encode()).hexdigest()[:16]
    return Path(settings.VAR_DIR) / "cache" / f"text-exemplars-{digest}.npz"


def model_load(path: Path = EXEMPLARS_PATH) -> ExemplarModel:
    """The model of the exemplars at `path`: from the cache when it holds this very file's, else fitted."""
    exemplars = exemplars_load(path)
    cached = _cache_path(path.read_bytes())
    try:
        with np.load(cached) as saved:
            if saved["matrix"].shape[0] == len(exemplars):
                return ExemplarModel(exemplars, saved["matrix"], saved["weights"])
    except (OSError, KeyError, ValueError):
        pass  # not cached yet (or a torn file): fit, then keep it for the next process
    model = ExemplarModel.fit(exemplars)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f"{cached.stem}.{uuid.uuid4().hex}.npz")
    np.savez(partial, matrix=model.matrix, weights=model.weights)
    partial.replace(cached)
    return model


@cache
def _model() -> ExemplarModel:
    return model_load()


class TextModelUnavailable(RuntimeError):
    """The sentence encoder or the exemplars could not load: nothing is let through on its word."""


def exemplar_model() -> ExemplarModel:
    """The process's model, loaded (or fitted) on first use; a failed load is tried again next time."""
    with _lock:
        try:
            return _model()
        except (OSError, ImportError, ValueError, KeyError) as exc:
            raise TextModelUnavailable(f"the text policy's model did not load: {exc}") from exc


def chunks(text: str) -> list[str]:
    """The whole text, and its sentences when there are several (a harmful sentence is not diluted
    by harmless ones around it)."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.strip()) > 3]
    return [text, *sentences[:MAX_CHUNKS]] if len(sentences) > 1 else [text]


def minor_sexual_rule(cleaned: str) -> bool:
    return bool(_MINOR.search(cleaned) and _SEXUAL.search(cleaned))


@dataclass(frozen=True)
class Embedded:
    """A text as the classifier reads it: cleaned, and the embeddings of its chunks."""

    cleaned: str
    vectors: np.ndarray


def texts_embed(texts: list[str]) -> list[Embedded]:
    cleaned = [clean_text(t) for t in texts]
    parts = [chunks(c) for c in cleaned]
    vectors = embed([p for ps in parts for p in ps])
    out, at = [], 0
    for c, ps in zip(cleaned, parts, strict=True):
        out.append(Embedded(c, vectors[at : at + len(ps)]))
        at += len(ps)
    return out


def categories_judge(texts: list[str], thresholds: dict[str, float]) -> list[CategoryJudgement]:
    """The category each text falls in (the one furthest past its threshold), with its nearest
    exemplars; the texts' chunks go through the encoder together."""
    model = exemplar_model()
    try:
        embedded = texts_embed(texts)
    except (OSError, ImportError) as exc:  # the encoder's files (exemplar_model may have come from cache)
        raise TextModelUnavailable(f"the sentence encoder did not load: {exc}") from exc
    return [judgement_from(model, one, thresholds) for one in embedded]


def judgement_from(model: ExemplarModel, text: Embedded, thresholds: dict[str, float]) -> CategoryJudgement:
    per_chunk = model.scores(text.vectors)
    scores = per_chunk.max(axis=0)  # the worst chunk's score per category
    limits = np.array([thresholds[c] for c in CATEGORIES])
    over = scores - limits
    best = int(np.argmax(over))
    if minor_sexual_rule(text.cleaned):
        best = CATEGORIES.index(Category.SEXUAL_MINORS)
    nearest = model.nearest(text.vectors[int(np.argmax(per_chunk[:, best]))])
    category = CATEGORIES[best] if over[best] >= 0 or minor_sexual_rule(text.cleaned) else ""
    rule = "minor_sexual_terms" if minor_sexual_rule(text.cleaned) and over[best] < 0 else ""
    return CategoryJudgement(category, round(float(scores[best]), 4), float(limits[best]), nearest, rule)


# --- for cameos' restrictions (moderation.public) ---------------------------------------------


def text_embed(texts: list[str], *, quick: bool = False) -> np.ndarray:
    """[len(texts), 384] unit rows of the texts as the policy reads them (cleaned): cameos embeds
    restrictions and prompts with the same encoder the policy uses, loaded once per process.
    `quick`: from its bfloat16 copy where the CPU has bfloat16 (embed.embed_quick), for a prompt read
    at the generation request."""
    cleaned = [clean_text(t) for t in texts]
    return embed_quick(cleaned) if quick else embed(cleaned)


def text_category_scores(vectors: np.ndarray) -> dict[str, np.ndarray]:
    """Each policy category's score (0..1, see `ExemplarModel.scores`) for each row of `vectors`
    (from `text_embed`): a cameo restriction naming a category ("no violence") refuses prompts that
    score for it, at a threshold of its own (lower than the policy's: the owner asked for none)."""
    scores = exemplar_model().scores(vectors)
    return {category: scores[:, i] for i, category in enumerate(CATEGORIES)}
