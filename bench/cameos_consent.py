"""The consent decision's latency -> `consent_bench()` (bench/cameos.py writes it into
bench/results/cameos.json as `consent_check_p99_ms` and the rest).

    .venv/bin/python bench/cameos_consent.py        (prints the figures as JSON; ~20 s on 2 cores)

What is timed: `consent_decide` for a prompt naming two cameos of other members, both open to
everyone and each with 3 restrictions (so both are found, allowed by level, and every restriction
is checked by meaning: the prompt embedded once, whole and by clause, and compared with the six
stored topic vectors; a restriction naming a policy category reads the category scores too).
Prompts rotate through a set, none of which breaks a restriction (the whole path runs), each made
new by a take number, so its embedding is computed (`consent_check_*`: the request's decision).
`consent_recheck_*`: the same prompts again, as the worker's and the draft's rechecks decide them
(the prompt's embedding kept by its text; permissions and restrictions always read afresh).
In the same run, as a baseline: the bare lookup of the two cameo rows
by handle (one query), and the decision with the restrictions removed (the permission query only).
`consent_prompt_encoder`: which copy of the text encoder read the prompts ("bfloat16" where the CPU
computes bfloat16 natively, else "float32"; moderation.text.embed.embed_quick).

Target (issue 23): p99 <= 20 ms on 2 cores. Seeded rows are rolled back at the end; run alone it
uses its own database (kino_cameobench, bench/fresh.py).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "kino_cameobench"
REDIS_DB = 12
RUNS = 400
WARMUP = 30
PROMPTS = (
    "@{a} and @{b} surfing a huge wave at sunset, cinematic",
    "@{a} teaches @{b} to bake a chocolate cake in a cozy kitchen",
    "@{a} and @{b} on a road trip across the desert with a golden retriever",
    "@{a} playing chess with @{b} in a park, autumn leaves falling",
    "@{a} and @{b} building a sandcastle on the beach while kids fly kites",
    "@{a} walking @{b}'s dog through a rainy city street at night, neon reflections",
)
RESTRICTIONS = (
    ("no political content", "nothing sexual or suggestive", "never make me say anything about my employer"),
    ("no violence", "don't show me smoking", "no alcohol"),
)


class _Rollback(Exception):
    pass


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _time(call: Callable[[int], Any], runs: int) -> list[float]:
    for i in range(WARMUP):
        call(i)
    took = []
    for i in range(runs):
        started = time.perf_counter()
        call(i)
        took.append((time.perf_counter() - started) * 1000)
    return took


def _figures(prefix: str, took: list[float]) -> dict[str, float]:
    return {
        f"{prefix}_p50_ms": round(statistics.median(took), 2),
        f"{prefix}_p99_ms": round(_percentile(took, 99), 2),
    }


def _measure(runs: int) -> dict[str, Any]:
    from cameos.models import Cameo, Restriction
    from cameos.public import consent_decide
    from cameos.services import cameo_restrictions_set
    from moderation.text.embed import bfloat16_native
    from tests.cameos.factories import CameoFactory
    from tests.factories import UserFactory

    a, b = CameoFactory(level=Cameo.Level.EVERYONE), CameoFactory(level=Cameo.Level.EVERYONE)
    for cameo, texts in zip((a, b), RESTRICTIONS, strict=True):
        cameo_restrictions_set(user_id=cameo.owner_id, cameo_id=cameo.id, texts=texts, teen=False)
    user = UserFactory()
    handles = [a.handle, b.handle]
    prompts = [p.format(a=a.handle, b=b.handle) for p in PROMPTS]

    def decision(i: int) -> None:
        # A prompt never seen before (the take number): its embedding is computed, as at a request.
        prompt = f"{prompts[i % len(prompts)]}, take {i}"
        decisions = consent_decide(user_id=user.id, handles=handles, prompt=prompt, teen=False)
        assert all(d.allowed for d in decisions), decisions

    def recheck(i: int) -> None:
        # The worker's and the draft's rechecks: the same prompt again (its embedding kept).
        prompt = prompts[i % len(prompts)]
        decisions = consent_decide(user_id=user.id, handles=handles, prompt=prompt, teen=False)
        assert all(d.allowed for d in decisions), decisions

    def lookup(i: int) -> None:
        rows = list(
            Cameo.objects.filter(handle__in=handles, state=Cameo.State.ACTIVE).values_list("id", "level")
        )
        assert len(rows) == 2

    full = _time(decision, runs)
    again = _time(recheck, runs)
    bare = _time(lookup, runs)
    Restriction.objects.filter(cameo__in=[a, b]).delete()
    unrestricted = _time(decision, runs)
    return {
        "consent_check_p99_ms": round(_percentile(full, 99), 2),
        "consent_check_p50_ms": round(statistics.median(full), 2),
        **_figures("consent_recheck", again),
        **_figures("baseline_cameo_lookup", bare),
        **_figures("baseline_consent_without_restrictions", unrestricted),
        "consent_check_runs": runs,
        "consent_prompt_encoder": "bfloat16" if bfloat16_native() else "float32",
        "consent_check_setup": "2 cameos (everyone), 3 restrictions each, prompts breaking none",
    }


def consent_bench(runs: int = RUNS) -> dict[str, Any]:
    """{"consent_check_p99_ms", "consent_check_p50_ms", the baselines' p50/p99 ...}: measured inside
    a transaction that is rolled back (nothing seeded stays)."""
    from django.conf import settings

    if not settings.configured:
        from bench.fresh import fresh_environment
        from config import embedded

        fresh_environment(embedded.var_dir() / "bench-cameos-consent", database=DATABASE, redis_db=REDIS_DB)
        import django

        django.setup()
    from django.db import transaction

    result: dict[str, Any] = {}
    try:
        with transaction.atomic():
            result = _measure(runs)
            raise _Rollback
    except _Rollback:
        pass
    return result


if __name__ == "__main__":
    print(json.dumps(consent_bench(), indent=2))
