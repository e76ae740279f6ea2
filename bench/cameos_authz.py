"""The cameos authorization matrix, counted: how many (actor, action) cells it checks and how many
answered a success the table forbids.

    .venv/bin/python bench/cameos_authz.py        (prints the counts as JSON; ~30 s on 2 cores)

`authz_bench()` really runs the matrix: tests/cameos/test_authz_matrix.py through pytest (against
the same embedded PostgreSQL the tests use), in a child process, with KINO_AUTHZ_RESULTS naming a
file the test appends each row's counts to. bench/cameos.py puts the result under `authz` in
bench/results/cameos.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MATRIX = "tests/cameos/test_authz_matrix.py"


def authz_bench() -> dict[str, Any]:
    """{"cases": N, "unexpected": M (successes the table forbids), "mismatched": K (cells answering
    other than the table says), "failed_rows": pytest's exit status was not 0}."""
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "authz.jsonl"
        env = {**os.environ, "KINO_AUTHZ_RESULTS": str(results)}
        run = subprocess.run(
            [sys.executable, "-m", "pytest", MATRIX, "-q", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    if not rows:
        raise RuntimeError(f"the matrix did not run:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return {
        "cases": sum(row["cases"] for row in rows),
        "unexpected": sum(row["unexpected"] for row in rows),
        "mismatched": sum(row["mismatched"] for row in rows),
        "rows": len(rows),
        "failed_rows": run.returncode != 0,
    }


if __name__ == "__main__":
    print(json.dumps(authz_bench(), indent=2))
