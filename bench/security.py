"""Security battery -> bench/results/security.json.

    .venv/bin/python bench/security.py            (about 2 minutes on 2 cores)

tests/security.py's battery, the one tests/test_security.py runs small, with larger numbers: hostile
inputs, forged tokens (REST, refresh and the WebSocket handshake), the authorization matrix over every
operation of the live schema, a moderator's privilege changes in the admin, races (follow against block,
redemptions of one invite, a deletion against logins: --race-rounds of each), what account deletions
leave (--deletions), and schemathesis against the live schema (--fuzz-examples per operation).

Real processes: uvicorn (two processes; no Celery worker, nothing here renders) on the embedded
PostgreSQL and Redis, in a database of its own (kino_security, made afresh each run) and Redis database
13, with media and the servers' log under var/bench-security/. The tests' database and a `make run`
database are never touched. Exits 1 when any part found a violation (the file is written all the same).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.fresh import fresh_environment  # noqa: E402  (after the path)

RESULTS = ROOT / "bench" / "results" / "security.json"
DATABASE = "kino_security"
RACES = ("race_follow_block", "race_invite_redeem", "race_deletion_logins")


def setup_environment(workdir: Path) -> None:
    fresh_environment(workdir, database=DATABASE, redis_db=13)


def run_battery(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    import django

    django.setup()
    from tests import security
    from tests.live import LiveStack

    (workdir / "mail").mkdir(parents=True, exist_ok=True)
    stack = LiveStack(workdir / "mail", worker=False, env=security.STACK_ENV).start()
    try:
        return security.battery(
            stack.base,
            fuzz_examples=args.fuzz_examples,
            race_rounds=args.race_rounds,
            deletions=args.deletions,
        )
    finally:
        stack.stop()


def summary(parts: dict[str, Any], command: str, seconds: float) -> dict[str, Any]:
    races = [parts[name] for name in RACES]
    return {
        "fuzz_cases": parts["fuzz"].cases,
        "fuzz_5xx": parts["fuzz"].server_errors,
        "hostile_cases": parts["hostile"].cases,
        "hostile_5xx": parts["hostile"].server_errors,
        "authz_cases": parts["authz"].cases,
        "authz_unexpected": len(parts["authz"].violations),
        "race_rounds": sum(part.cases for part in races),
        "race_violations": sum(len(part.violations) for part in races),
        "forged_token_cases": parts["forged_tokens"].cases,
        "forged_token_5xx": parts["forged_tokens"].server_errors,
        "forged_token_violations": len(parts["forged_tokens"].violations),
        "admin_attempts": parts["admin"].cases,
        "admin_violations": len(parts["admin"].violations),
        "files_left": parts["deletion_files"].details["files_left"],
        "violations": sum(len(part.violations) for part in parts.values()),
        "details": {name: part.as_dict() for name, part in parts.items()},
        "seconds": round(seconds),
        "cores": os.cpu_count(),
        "date": date.today().isoformat(),
        "command": command,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fuzz-examples", type=int, default=50, help="schemathesis cases per operation")
    parser.add_argument("--race-rounds", type=int, default=50, help="rounds of each race")
    parser.add_argument("--deletions", type=int, default=5, help="members who delete their accounts")
    args = parser.parse_args(argv)
    from config import embedded

    workdir = embedded.var_dir() / "bench-security"
    started = time.monotonic()
    setup_environment(workdir)
    parts = run_battery(args, workdir)
    command = " ".join([".venv/bin/python bench/security.py", *(argv if argv is not None else sys.argv[1:])])
    result = summary(parts, command.strip(), time.monotonic() - started)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
