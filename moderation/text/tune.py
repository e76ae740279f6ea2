"""Thresholds of the content categories, tuned on the exemplars alone (5-fold cross-validation: each
exemplar is scored by a regression fitted without its fold), never on the held-out set `evaluate`
measures.

For each category the adult threshold maximises F0.75 of that category's exemplars against the
benign ones (precision counts a little more than recall: a refusal at every door adds up over eight
categories; cross-validated, F1 refused 9 % of the benign exemplars and F0.75 7 %, for 95 % and 92 %
of the harmful ones); the teen threshold maximises F2 (recall counts four times as much as
precision), and at least TEEN_MARGIN below the adult one. `sexual_minors` is a hard block:
everyone gets its teen threshold. Run `manage.py text_policy_tune` and copy the numbers into
settings' defaults (MODERATION_TEXT_THRESHOLDS, MODERATION_TEXT_TEEN_THRESHOLDS).
"""

from __future__ import annotations

import numpy as np

from moderation.models import Category
from moderation.text.categories import (
    BENIGN,
    CATEGORIES,
    LABELS,
    ExemplarModel,
    exemplar_model,
    regression_fit,
)

FOLDS = 5
ADULT_BETA = 0.75
TEEN_BETA = 2.0
TEEN_MARGIN = 0.03  # teens' thresholds are at least this much below adults' (stricter everywhere)


def folds(labels: np.ndarray, k: int = FOLDS) -> np.ndarray:
    """Each exemplar's fold: every label dealt round the folds in file order (deterministic)."""
    fold = np.zeros(len(labels), dtype=int)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        fold[rows] = np.arange(len(rows)) % k
    return fold


def cross_scores(model: ExemplarModel) -> np.ndarray:
    """[N, len(CATEGORIES)] each exemplar's scores by a regression that never saw it."""
    labels = np.array([LABELS.index(e.label) for e in model.exemplars])
    fold = folds(labels)
    scores = np.zeros((len(labels), len(CATEGORIES)))
    for f in range(FOLDS):
        held = fold == f
        kept = [e for e, h in zip(model.exemplars, held, strict=True) if not h]
        weights = regression_fit(model.matrix[~held], labels[~held])
        scores[held] = ExemplarModel(kept, model.matrix[~held], weights).scores(model.matrix[held])
    return scores


def best_threshold(positive: np.ndarray, negative: np.ndarray, beta: float) -> float:
    """The cut (halfway between two observed scores) with the best F-beta of positives against negatives."""
    values = np.unique(np.concatenate([positive, negative]))
    cuts = (values[1:] + values[:-1]) / 2 if len(values) > 1 else values
    best, best_f = float(cuts[-1]), -1.0
    for cut in cuts:
        tp = float((positive >= cut).sum())
        fp = float((negative >= cut).sum())
        fn = float(len(positive) - tp)
        f = (1 + beta**2) * tp / max((1 + beta**2) * tp + beta**2 * fn + fp, 1.0)
        if f > best_f:
            best, best_f = float(cut), f
    return round(best, 3)


def thresholds_tune(model: ExemplarModel | None = None) -> dict[str, dict[str, float]]:
    model = model or exemplar_model()
    scores = cross_scores(model)
    labels = np.array([e.label for e in model.exemplars])
    adult: dict[str, float] = {}
    teen: dict[str, float] = {}
    for at, category in enumerate(CATEGORIES):
        positive, negative = scores[labels == category, at], scores[labels == BENIGN, at]
        adult[category] = best_threshold(positive, negative, beta=ADULT_BETA)
        teen[category] = min(
            adult[category] - TEEN_MARGIN, best_threshold(positive, negative, beta=TEEN_BETA)
        )
        teen[category] = round(teen[category], 3)
        if category == Category.SEXUAL_MINORS:  # a hard block: everyone gets the recall-first threshold
            adult[category] = teen[category]
    return {"adult": adult, "teen": teen}
