"""`make run`: the whole backend on one machine.

Starts embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL point
elsewhere), migrates, loads demo data into an empty database, then serves the
API, admin, beta pages and WebSocket (uvicorn) next to a Celery worker for both
queues. Ctrl-C (or SIGTERM) stops the server and worker, then the databases.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_GRACE_S = 20


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, cwd=BASE_DIR)


def _start(args: list[str]) -> subprocess.Popen:
    # Their own session: Ctrl-C reaches only us, and we stop them in order.
    return subprocess.Popen(args, cwd=BASE_DIR, start_new_session=True)


def server_command(host: str, port: int | str, *, workers: int = 1) -> list[str]:
    """The ASGI server: API, admin, beta pages and the WebSocket."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--lifespan",
        "off",
    ]


def worker_command(
    *,
    concurrency: int,
    hostname: str,
    loglevel: str = "INFO",
    queues: str = "default,generation.priority,generation",
) -> list[str]:
    """A Celery worker; `make run` gives one both queues, a fleet gives each GPU its own."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "--hostname",
        hostname,
        "--loglevel",
        loglevel,
    ]


def _engine_line() -> str:
    engine = os.environ.get("GENERATION_ENGINE", "builtin")
    if engine == "builtin":
        return "builtin: Kino's own small audio-video model (2 s square clips with sound, on CPU)"
    if engine.startswith("tiny-"):
        return f"{engine}: tiny random weights, the clips are noise (set GENERATION_MODEL_PATH for real ones)"
    return f"{engine}: {os.environ.get('GENERATION_MODEL_PATH', '')}"


def _wait_healthy(url: str, timeout_s: float) -> bool:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback URL)
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    os.environ.setdefault("SITE_URL", f"http://{host}:{port}")

    started = embedded.services_start()
    os.environ.update(started)
    for name, url in started.items():
        print(f"  embedded {name.split('_')[0].lower():9} {url}")

    _manage("migrate", "--noinput", "-v", "0")
    _manage("seed_demo")

    children = [
        _start(server_command(host, port, workers=int(os.environ.get("WEB_WORKERS", "1")))),
        _start(
            worker_command(
                concurrency=int(os.environ.get("WORKER_CONCURRENCY", "2")),
                hostname=f"kino@{os.uname().nodename}",
                loglevel="INFO",
            )
        ),
    ]

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    base = f"http://{host}:{port}"
    if _wait_healthy(f"{base}/healthz", 60):
        print(
            f"\nKino is up.\n"
            f"  API        {base}/api/v1/   (docs: {base}/api/docs/, schema: {base}/api/schema/)\n"
            f"  WebSocket  ws://{host}:{port}/ws/?token=<access token>\n"
            f"  Admin      {base}/admin/\n"
            f"  Beta       {base}/beta/\n"
            f"  Health     {base}/healthz\n"
            f"  Mail       {embedded.var_dir() / 'mail'} (invites sent by the admin land here)\n"
            f"  Generation {_engine_line()}\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.3)
    finally:
        print("\nStopping…", flush=True)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    # The embedded databases stop at exit, once no other process uses them.
    print("Stopped.", flush=True)
    failed = [child.returncode for child in children if child.returncode not in (0, -signal.SIGTERM)]
    return 0 if stopping or not failed else 1


if __name__ == "__main__":
    sys.exit(main())
