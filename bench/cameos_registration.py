"""Cameo registration's cost -> `registration_bench()` (bench/cameos.py writes it into
bench/results/cameos.json as `registration_10s_720p_s` and the rest).

    .venv/bin/python bench/cameos_registration.py     (prints the figures as JSON; ~1 min on 2 cores)

What is timed: `person_likeness` (cameos/registration/services.py), every check a worker runs on a
person's upload, on a 10 s 1280x720 selfie at 30 fps (H.264 + AAC): decoding with frames sampled at
CAMEO_LIVENESS_FPS and the sound at 16 kHz, faces with their 68 landmarks and yaw in every sampled
frame, descriptors of up to 12 of them, the public-figure registry, liveness, the digits read by
pocketsphinx, the voice embedding and its registry match, and the reference crops. The selfie is
SYNTHESISED from a still of tests/fixtures/faces/t1.jpg with espeak-ng reading the digits (as in the
tests), so it passes every check: the whole path runs. Matching against other accounts' cameos (two
pgvector queries) and storing the cameo are left out: they are milliseconds.

In the same run, as the baseline: decoding alone (`clip_from_file` at the same rate). The median of
RUNS runs after a warm-up (models loaded), wall and CPU seconds (the machine may be shared), and
the median seconds of each stage.

Target (issue 23): <= 5 s on 2 cores.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "kino_regbench"
REDIS_DB = 11
RUNS = 5
PHRASE = "4 7 2 9 1"


def _django() -> None:
    """The Django app, on a database of its own when nothing set one up before (run alone)."""
    from django.conf import settings

    if settings.configured:
        return
    from bench.fresh import fresh_environment
    from config import embedded

    fresh_environment(embedded.var_dir() / "bench-cameos-registration", database=DATABASE, redis_db=REDIS_DB)
    import django

    django.setup()


def _timed(call: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def registration_bench() -> dict[str, Any]:
    _django()
    from django.conf import settings

    from cameos.registration.services import person_likeness
    from moderation.public import clip_from_file
    from tests.cameos import selfie

    missing = selfie.tools_missing()
    if missing:
        raise RuntimeError(missing)
    built = time.perf_counter()
    video = selfie.selfie(selfie.person(), digits=PHRASE, seconds=10.0, fps=30.0, size=(1280, 720))
    build_s = time.perf_counter() - built
    turns = ("left", "right")
    stages: dict[str, list[float]] = {}

    def register() -> Any:
        marks: list[tuple[str, float]] = [("decode", time.perf_counter())]
        likeness = person_likeness(
            video=video,
            voice=None,
            turns=turns,
            phrase=PHRASE,
            stage=lambda name, progress: marks.append((name, time.perf_counter())),
        )
        marks.append(("end", time.perf_counter()))
        for (name, began), (_, ended) in itertools.pairwise(marks):
            stages.setdefault(name, []).append(ended - began)
        return likeness

    def decode() -> Any:
        return clip_from_file(video, fps=settings.CAMEO_LIVENESS_FPS, max_seconds=settings.CAMEO_VIDEO_MAX_S)

    register()  # warm-up: the models load once per process
    stages.clear()
    decode()
    runs = [_timed(register) for _ in range(RUNS)]
    bases = [_timed(decode) for _ in range(RUNS)]
    wall = statistics.median(r[0] for r in runs)
    likeness = runs[-1][2]
    return {
        "registration_10s_720p_s": round(wall, 3),
        "registration_10s_720p_cpu_s": round(statistics.median(r[1] for r in runs), 3),
        "registration_10s_720p_runs_s": [round(r[0], 3) for r in runs],
        "registration_stages_s": {name: round(statistics.median(v), 3) for name, v in stages.items()},
        "registration_baseline_decode_s": round(statistics.median(b[0] for b in bases), 3),
        "registration_baseline_decode_cpu_s": round(statistics.median(b[1] for b in bases), 3),
        "registration_video": {
            "seconds": 10.0,
            "size": "1280x720",
            "fps": 30,
            "bytes": len(video),
            "sampled_fps": settings.CAMEO_LIVENESS_FPS,
            "synthesised": True,
            "build_s": round(build_s, 1),
        },
        "registration_references": len(likeness.references),
        "registration_cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
    }


if __name__ == "__main__":
    print(json.dumps(registration_bench(), indent=2))
