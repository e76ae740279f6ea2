"""Cameos' numbers -> bench/results/cameos.json.

    .venv/bin/python bench/cameos.py            (a few minutes on 2 cores)

- `authz`: the authorization matrix (bench/cameos_authz.py runs tests/cameos/test_authz_matrix.py):
  `cases` checked, `unexpected` successes the table forbids (target 0), `mismatched` cells.
- `consent_check_p99_ms` and its baselines: bench/cameos_consent.py (target p99 <= 20 ms).
- `registration_10s_720p_s`: bench/cameos_registration.py, a 10 s 720p selfie through every
  registration check (target <= 5 s on 2 cores).

The matrix runs first, in a child process on the tests' database, before the consent benchmark
points this process at a database of its own. A part whose module is missing or fails is recorded
with its error, so the others still land in the file.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "cameos.json"

# (key in the file, or "" to merge the part's keys in; module; function)
PARTS = (
    ("authz", "bench.cameos_authz", "authz_bench"),
    ("", "bench.cameos_consent", "consent_bench"),
    ("", "bench.cameos_registration", "registration_bench"),
)


def _run(module: str, function: str) -> dict[str, Any]:
    return getattr(importlib.import_module(module), function)()


def main() -> dict[str, Any]:
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "targets": {"registration_10s_720p_s": 5.0, "consent_check_p99_ms": 20.0, "authz_unexpected": 0},
    }
    for key, module, function in PARTS:
        began = time.perf_counter()
        try:
            part = _run(module, function)
        except (ImportError, AttributeError, RuntimeError) as exc:
            part = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        took = round(time.perf_counter() - began, 1)
        if key:
            report[key] = {**part, "bench_s": took}
        else:
            report.update({f"{function}_error" if k == "error" else k: v for k, v in part.items()})
            report[f"{function}_s"] = took
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
