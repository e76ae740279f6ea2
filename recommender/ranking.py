"""The ranker: a light multi-task model trained on logged impressions and what followed them.

Every served impression is logged with the features it was scored on and the model's version
(`Impression`). Training joins them with what the member then did with that video (feed's view
events, likes and remixes; moderation's reports) into six outcomes, fits one logistic regression per
outcome on the standardised features (Newton's method, L2), and scores a candidate by the expected
utility: the sum of each outcome's probability times its weight in `UTILITY`. Remixing (creating)
weighs most, then liking; "see less" and reports are strong negatives; watch time counts little, on
purpose: the feed favours what makes people create, not time spent.

With no model yet (a new install, or fewer than RECOMMENDER_RANKER_MIN_IMPRESSIONS), `FALLBACK`
scores: similarity to the member's interests, follows, popularity and freshness by hand-set weights.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from feed.public import interactions_of, video_counters
from moderation.public import video_reports_by
from recommender.candidates import Candidate
from recommender.models import Impression, RankerModel, UserFactors
from recommender.vectors import as_array

logger = logging.getLogger(__name__)

FEATURES = (
    "interest",  # best cosine similarity to one of the member's interest vectors
    "steer",  # the steering re-rank term (recommender.steering)
    "als",  # the member's ALS factors . the video's (recommender.collab; 0 when either is missing)
    "followed",  # 1 when the member follows the creator
    "liked_creator",  # 1 when the member liked a recent post of the creator (and does not follow)
    "likes",  # log1p of the counters ...
    "remixes",
    "shares",
    "views",
    "like_rate",  # likes / (views + 1)
    "remix_rate",  # remixes / (views + 1)
    "age",  # log1p of the post's age in hours
    "is_remix",
    "src_ann",
    "src_follow",
    "src_fresh",
    "src_trending",
    "src_remix",
)
SOURCE_FEATURES = tuple(name for name in FEATURES if name.startswith("src_"))
# What each outcome is worth; the score is the expected sum.
UTILITY = {"remixed": 5.0, "liked": 3.0, "shared": 1.5, "watched": 0.5, "see_less": -4.0, "reported": -6.0}
# Used until a model is trained: weights of the (unstandardised) features above.
FALLBACK_VERSION = "fallback-1"
FALLBACK = {
    "interest": 1.0,
    "als": 0.5,
    "followed": 0.6,
    "liked_creator": 0.3,
    "likes": 0.08,
    "remixes": 0.15,
    "shares": 0.05,
    "views": 0.02,
    "like_rate": 0.5,
    "remix_rate": 1.0,
    "age": -0.1,
    "src_fresh": 0.1,
}


@dataclass(frozen=True)
class Member:
    """What scoring needs to know about the member, read once per snapshot."""

    interests: np.ndarray  # [k, d] unit rows (k may be 0)
    followees: frozenset[UUID]
    steer: Any = None  # recommender.steering.SteerTerms, or None
    factors: np.ndarray | None = None  # ALS user factors (`member_factors`), None when untrained


def member_factors(user_id: UUID) -> np.ndarray | None:
    """The member's ALS factors from the last training, or None (one query)."""
    raw = UserFactors.objects.filter(user_id=user_id).values_list("collab", flat=True).first()
    return None if raw is None else as_array(raw)


def features_of(member: Member, candidates: Sequence[Candidate]) -> np.ndarray:
    """[n, len(FEATURES)] float32; one query (the counters). Column by column over arrays: a first
    page scores ~450 candidates, and a Python step per cell cost several milliseconds."""
    n = len(candidates)
    x = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if not n:
        return x
    col = {name: i for i, name in enumerate(FEATURES)}
    vectors = np.stack([c.vector for c in candidates])
    if len(member.interests):
        x[:, col["interest"]] = (vectors @ member.interests.T).max(axis=1)
    if member.factors is not None:
        x[:, col["als"]] = _collab_matrix(candidates, len(member.factors)) @ member.factors
    if member.steer is not None and member.steer.active:
        contents = np.stack([c.content if c.content is not None else c.vector for c in candidates])
        x[:, col["steer"]] = member.steer.rerank(contents)
    followed = np.array([c.creator_id in member.followees for c in candidates])
    x[:, col["followed"]] = followed
    x[:, col["liked_creator"]] = np.array(["follow" in c.sources for c in candidates]) & ~followed
    _counter_features(x, col, candidates)
    now = timezone.now()
    hours = np.array([(now - c.posted_at).total_seconds() / 3600 for c in candidates])
    x[:, col["age"]] = np.log1p(np.maximum(hours, 0.0))
    x[:, col["is_remix"]] = np.array([c.remix_of_id is not None for c in candidates])
    for name in SOURCE_FEATURES:
        source = name.removeprefix("src_")
        x[:, col[name]] = np.array([source in c.sources for c in candidates])
    return x


def _collab_matrix(candidates: Sequence[Candidate], dims: int) -> np.ndarray:
    """[n, dims] item factors, zero rows for videos no training has seen yet."""
    rows = np.zeros((len(candidates), dims), dtype=np.float32)
    for i, c in enumerate(candidates):
        if c.collab is not None:
            rows[i] = c.collab
    return rows


def _counter_features(x: np.ndarray, col: dict[str, int], candidates: Sequence[Candidate]) -> None:
    """The counters' columns (log1p of each, and the like and remix rates); zeros without counters."""
    counters = video_counters([c.video_id for c in candidates])
    stats = np.zeros((len(candidates), 4), dtype=np.float64)  # likes, remixes, shares, views
    for i, c in enumerate(candidates):
        found = counters.get(c.video_id)
        if found is not None:
            stats[i] = (found.likes, found.remixes, found.shares, found.views)
    likes, remixes, shares, views = stats.T
    for name, values in (("likes", likes), ("remixes", remixes), ("shares", shares), ("views", views)):
        x[:, col[name]] = np.log1p(values)
    x[:, col["like_rate"]] = likes / (views + 1)
    x[:, col["remix_rate"]] = remixes / (views + 1)


# --- scoring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scorer:
    version: str
    weights: dict[str, Any]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.version == FALLBACK_VERSION:
            w = np.array([FALLBACK.get(name, 0.0) for name in FEATURES], dtype=np.float32)
            return x @ w
        z = (x - np.asarray(self.weights["mean"])) / np.asarray(self.weights["std"])
        score = np.zeros(len(x), dtype=np.float64)
        for outcome, head in self.weights["heads"].items():
            score += UTILITY[outcome] * _sigmoid(z @ np.asarray(head["coef"]) + head["intercept"])
        return score.astype(np.float32)


_FALLBACK_SCORER = Scorer(FALLBACK_VERSION, {})
_loaded: dict[str, Any] = {"at": -1e9, "scorer": _FALLBACK_SCORER}


def scorer_active() -> Scorer:
    """The active model, re-read at most every RECOMMENDER_RANKER_RELOAD_S per process (one query)."""
    if time.monotonic() - _loaded["at"] >= settings.RECOMMENDER_RANKER_RELOAD_S:
        row = RankerModel.objects.filter(active=True).values_list("version", "weights").first()
        usable = row is not None and list(row[1].get("features", [])) == list(FEATURES)
        _loaded["scorer"] = Scorer(row[0], row[1]) if usable and row else _FALLBACK_SCORER
        _loaded["at"] = time.monotonic()
    scorer: Scorer = _loaded["scorer"]
    return scorer


def rank(member: Member, candidates: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray, str]:
    """Scores [n] (higher first), the features they came from [n, F] and the model's version. The
    steering term is added to every model's score as well as being a feature: it must move the next
    page now, before any model has learned from it."""
    x = features_of(member, candidates)
    scorer = scorer_active()
    return scorer(x) + x[:, FEATURES.index("steer")], x, scorer.version


# --- training ------------------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def logistic_fit(
    x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, steps: int = 12
) -> tuple[np.ndarray, float]:
    """Newton's method on the L2-penalised log loss (the intercept unpenalised): a dozen steps of a
    [F+1, F+1] solve, exact enough for 17 features and fast for 200,000 rows."""
    n, f = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(f + 1)
    penalty = np.full(f + 1, l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = _sigmoid(xb @ w)
        gradient = xb.T @ (p - y) + penalty * w
        hessian = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(penalty + 1e-6)
        w -= np.linalg.solve(hessian, gradient)
    return w[:-1], float(w[-1])


def auc(scores: np.ndarray, y: np.ndarray) -> float | None:
    """Area under the ROC curve (rank statistic); None without both classes."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return None
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


OUTCOME_SLACK = timedelta(minutes=1)  # a client's clock may run behind the server's


# What an interaction's kind says of the impression (feed.public.Interaction's kinds).
OUTCOME_OF = {
    "like": "liked",
    "liked": "liked",
    "remixed": "remixed",
    "share": "shared",
    "see_less": "see_less",
}


def outcomes_of(impressions: list[tuple[Any, ...]], since: Any) -> np.ndarray:
    """[n, len(UTILITY)] 0/1: what each impression's member did with its video after it was served
    (rows: user, video, features, served_at)."""
    users = list({row[0] for row in impressions})
    videos = list({row[1] for row in impressions})
    acts: dict[tuple[UUID, UUID], list[tuple[Any, str, int]]] = {}
    for act in interactions_of(user_ids=users, video_ids=videos, since=since):
        acts.setdefault((act.user_id, act.video_id), []).append(
            (act.at, OUTCOME_OF.get(act.kind, ""), act.watch_ms)
        )
    for reporter_id, video_id, at in video_reports_by(reporter_ids=users, video_ids=videos, since=since):
        acts.setdefault((reporter_id, video_id), []).append((at, "reported", 0))
    y = np.zeros((len(impressions), len(UTILITY)), dtype=np.float64)
    for i, (user_id, video_id, _, served_at) in enumerate(impressions):
        after = [
            (kind, ms)
            for at, kind, ms in acts.get((user_id, video_id), ())
            if at >= served_at - OUTCOME_SLACK
        ]
        done = {kind for kind, _ in after if kind}
        if sum(ms for _, ms in after) >= settings.RECOMMENDER_RANKER_WATCH_MS:
            done.add("watched")
        y[i] = [outcome in done for outcome in UTILITY]
    return y


def ranker_train() -> str:
    """Train on the recent impressions; store the model and make it active when there was enough to
    learn from. Returns the version that serves afterwards (the fallback's when nothing is trained)."""
    since = timezone.now() - timedelta(days=settings.RECOMMENDER_RANKER_DAYS)
    rows = list(
        Impression.objects.filter(served_at__gte=since)
        .order_by("-served_at")
        .values_list("user_id", "video_id", "features", "served_at")[
            : settings.RECOMMENDER_RANKER_MAX_IMPRESSIONS
        ]
    )
    rows = [row for row in rows if len(row[2]) == len(FEATURES)][::-1]  # oldest first
    if len(rows) < settings.RECOMMENDER_RANKER_MIN_IMPRESSIONS:
        return scorer_active().version
    x = np.asarray([row[2] for row in rows], dtype=np.float64)
    y = outcomes_of(rows, since)
    weights, metrics = _fit(x, y)
    if not weights["heads"]:
        return scorer_active().version
    version = f"lr-{timezone.now():%Y%m%d%H%M%S}-{len(rows)}"
    with transaction.atomic():
        RankerModel.objects.filter(active=True).update(active=False)
        RankerModel.objects.create(version=version, weights=weights, metrics=metrics, active=True)
    _loaded["at"] = -1e9
    logger.info("recommender.ranker_trained", extra={"version": version, "metrics": metrics})
    return version


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    """One head per outcome with enough positives, fitted on the oldest 80 % and measured (AUC) on the
    newest 20 % (time-ordered, as it will serve), then refitted on all of it."""
    x = x.copy()
    # The steering term is added to every score as it is; a head learning it from the few steered
    # impressions would count it twice.
    x[:, FEATURES.index("steer")] = 0.0
    mean, std = x.mean(axis=0), x.std(axis=0)
    # A feature almost constant in training (a rare flag) must not blow up at serving: std >= 0.01.
    std = np.maximum(std, 1e-2)
    z = (x - mean) / std
    cut = int(len(z) * 0.8)
    heads: dict[str, Any] = {}
    metrics: dict[str, Any] = {"impressions": len(z), "positives": {}, "auc": {}}
    for j, outcome in enumerate(UTILITY):
        positives = int(y[:, j].sum())
        metrics["positives"][outcome] = positives
        if positives < 5:
            continue
        coef, intercept = logistic_fit(z[:cut], y[:cut, j])
        metrics["auc"][outcome] = auc(z[cut:] @ coef + intercept, y[cut:, j])
        coef, intercept = logistic_fit(z, y[:, j])
        heads[outcome] = {"coef": coef.tolist(), "intercept": intercept}
    weights = {"features": list(FEATURES), "mean": mean.tolist(), "std": std.tolist(), "heads": heads}
    return weights, metrics
