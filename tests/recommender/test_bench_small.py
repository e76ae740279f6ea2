"""The recommender's bench at a small size (bench/recommender.py's S and M tiers are run by hand):
the simulator's behaviour model carries a signal the metrics can see, and on a seeded small world
the ranker beats popularity and random, ANN finds what exact search finds, every served page keeps
the diversity rules and a filtered (teen) page is full; a resumed run reads the world back and
undoes a training."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest

from bench import recommender as bench_run
from bench import recommender_seed as seeding
from bench import recommender_sim as sim

TINY = sim.Tier("tiny", videos=1_000, users=100, interactions=8_000, prompts=240, eval_users=25)


@cache
def world() -> sim.World:
    from recommender.vectors import content_embed

    return sim.world_make(TINY, content_embed)


def test_metrics_on_known_rankings() -> None:
    gains = np.array([3.0, 0.0, 2.0, 0.0, 1.0])
    assert sim.ndcg_at(np.array([5.0, 1.0, 4.0, 0.0, 3.0]), gains) == pytest.approx(1.0)
    assert sim.ndcg_at(np.array([0.0, 5.0, 1.0, 4.0, 2.0]), gains) < 0.7
    assert sim.recall_at(np.array([5.0, 1.0, 4.0, 0.0, 3.0]), gains, k=2) == pytest.approx(2 / 3)
    assert sim.ndcg_at(np.zeros(5), np.zeros(5)) == 0.0


def test_world_is_decided_by_its_seed_and_split_in_time() -> None:
    a = world()
    b = sim.world_make(TINY, lambda texts: a.prompt_vectors)
    assert np.array_equal(a.exposures["video"], b.exposures["video"])
    assert np.array_equal(a.exposures["gain"], b.exposures["gain"])
    days = a.exposures["day"]
    assert np.all(np.diff(days) >= 0)  # oldest first
    assert np.all(a.video_day < sim.SPLIT_DAY)  # the test period only meets videos posted before it
    assert 0.1 < (days >= sim.SPLIT_DAY).mean() < 0.3
    pairs = a.exposures["user"].astype(np.int64) * len(a.video_day) + a.exposures["video"]
    assert len(np.unique(pairs)) == len(pairs)  # each (member, video) once
    assert 0.05 < a.exposures["liked"].mean() < 0.4
    assert 0 < a.exposures["remixed"].mean() < a.exposures["liked"].mean()


def test_the_hidden_tastes_are_visible_to_the_metrics() -> None:
    """The oracle (the behaviour model's own utility) ranks far above random; popularity in between."""
    w = world()
    cases = sim.eval_cases(w, 25)
    popular = sim.popularity(w)
    rng = np.random.default_rng(0)
    measured = sim.evaluate(
        cases,
        {
            "oracle": lambda c: sim.expected_utility(w, np.full(len(c.videos), c.user), c.videos),
            "popularity": lambda c: popular[c.videos],
            "random": lambda c: rng.random(len(c.videos)),
        },
    )
    assert len(cases) >= 15
    assert measured["oracle"]["ndcg_at_20"] > 2 * measured["random"]["ndcg_at_20"]
    assert measured["popularity"]["ndcg_at_20"] > measured["random"]["ndcg_at_20"]


@pytest.mark.django_db
def test_seeded_small_world_end_to_end(settings: Any) -> None:
    settings.RECOMMENDER_RANKER_MIN_IMPRESSIONS = 50  # a tiny world logs a few hundred
    w = world()
    seeded = seeding.seed_world(w, logged_from=sim.SPLIT_DAY - bench_run.LOGGED_DAYS)
    bench = bench_run.Bench(w, seeded)
    assert seeding.sql("SELECT count(*) FROM feed_video")[0][0] == len(seeded.video_ids)
    vectors = seeding.sql("SELECT count(*), count(*) FILTER (WHERE teen_ok) FROM recommender_videovector")[0]
    assert vectors[0] == len(seeded.video_ids)
    assert 0.05 < vectors[1] / vectors[0] < 0.15  # TEEN_OK_SHARE
    assert seeding.sql("SELECT 1 FROM pg_indexes WHERE indexname = %s", [seeding.HNSW_INDEX])
    before_rest = seeding.sql(
        "SELECT (SELECT count(*) FROM feed_viewevent), (SELECT count(*) FROM feed_like)"
    )[0]
    training = bench_run.train(bench, TINY, als=False)
    assert training["impressions_logged"] > 50
    assert training["ranker_version"].startswith("lr-")  # trained, not the fallback

    offline = bench_run.offline(bench, TINY, als=False)
    ndcg = offline["ndcg_at_20"]
    assert ndcg["ranker"] > ndcg["popularity"] > ndcg["random"]

    assert bench_run.ann_recall(bench, queries=20)["ann_recall_at_200"] >= 0.95
    pages = bench_run.pages(bench, 4)
    assert pages["pages"] >= 4
    gathered = pages["candidates_per_first_page"]
    assert gathered["snapshots"] >= 4
    assert 300 <= gathered["p50"] <= 500  # the 300-500 a first page
    assert pages["diversity_violations"] == 0
    assert pages["short_pages"] == 0
    assert pages["served_utility_mean"] > pages["random_utility_mean"]

    # A resumed run (bench/recommender.py --resume) reads the seeded world back with its time, and
    # undoes a training back to what the seeding left
    again = seeding.seeded_ids(w, seeded_before=True)
    assert (again.video_ids, again.now) == (seeded.video_ids, seeded.now)
    seeding.sql(  # five blends, as ALS would leave them
        "UPDATE recommender_videovector SET vector = (SELECT content FROM recommender_videovector"
        " ORDER BY video_id DESC LIMIT 1)"
        " WHERE video_id IN (SELECT video_id FROM recommender_videovector ORDER BY video_id LIMIT 5)"
    )
    seeding.training_reset(again, sim.SPLIT_DAY - bench_run.LOGGED_DAYS)
    empty = (
        "SELECT (SELECT count(*) FROM recommender_uservector) + (SELECT count(*) FROM recommender_impression)"
    )
    assert seeding.sql(empty)[0][0] == 0
    assert seeding.sql("SELECT count(*) FROM recommender_videovector WHERE vector <> content")[0][0] == 0
    assert (
        seeding.sql("SELECT (SELECT count(*) FROM feed_viewevent), (SELECT count(*) FROM feed_like)")[0]
        == before_rest
    )
