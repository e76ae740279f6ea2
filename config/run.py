"""`make run`: the whole backend on one machine.

Starts embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL point
elsewhere), migrates, loads demo data into an empty database, then serves the
API, admin, beta pages and WebSocket (uvicorn) next to a Celery worker for both
queues. Ctrl-C (or SIGTERM) stops the server and worker, then the databases.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
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
    """The ASGI server: API, admin, beta pages and the WebSocket.

    h11, whose header buffer is bounded (REQUEST_MAX_HEADER_BYTES); proxy headers are never
    believed by the server itself (the app believes those of TRUSTED_PROXIES only)."""
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
        "--http",
        "h11",
        "--h11-max-incomplete-event-size",
        os.environ.get("REQUEST_MAX_HEADER_BYTES", str(64 * 1024)),
        "--no-proxy-headers",
        "--ws-max-size",
        "65536",  # a client sends pings, never more: a WebSocket message over 64 KiB closes the socket
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


class Child:
    """A process `make run` keeps alive: started again with backoff (1 s, doubling to 30 s) when it
    dies unasked; the backoff resets once it has lived a minute."""

    def __init__(self, name: str, command: list[str]) -> None:
        self.name, self.command = name, command
        self.process = _start(command)
        self.started = time.monotonic()
        self.backoff_s = 1.0
        self.restart_at: float | None = None

    def tend(self) -> None:
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                print(f"  restarting the {self.name}", flush=True)
                with contextlib.suppress(ProcessLookupError):  # its orphans (other web workers) too
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process, self.started, self.restart_at = _start(self.command), now, None
            return
        code = self.process.poll()
        if code is None:
            return
        if now - self.started > 60:
            self.backoff_s = 1.0
        print(
            f"  the {self.name} stopped (exit {code}); starting it again in {self.backoff_s:.0f} s",
            flush=True,
        )
        self.restart_at = now + self.backoff_s
        self.backoff_s = min(30.0, self.backoff_s * 2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, deadline: float) -> None:
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _banner(host: str, port: str) -> str:
    base = f"http://{host}:{port}"
    return (
        f"\nKino is up.\n"
        f"  API        {base}/api/v1/   (docs: {base}/api/docs/, schema: {base}/api/schema/)\n"
        f"  WebSocket  ws://{host}:{port}/ws/  (Authorization: Bearer <access token>)\n"
        f"  Admin      {base}/admin/\n"
        f"  Beta       {base}/beta/\n"
        f"  Health     {base}/healthz\n"
        f"  Mail       {embedded.var_dir() / 'mail'} (invites sent by the admin land here)\n"
        f"  Generation {_engine_line()}\n"
        f"Press Ctrl-C to stop.\n"
    )


def _lan_hosts() -> str:
    """This machine's names and addresses, so a phone on the LAN reaches a `make run` bound to 0.0.0.0."""
    import psutil

    nics = psutil.net_if_addrs().values()
    addresses = {a.address for nic in nics for a in nic if a.family == socket.AF_INET} - {"127.0.0.1"}
    return ",".join(["localhost", "127.0.0.1", "[::1]", socket.gethostname(), *sorted(addresses)])


def _prepare(host: str, port: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SITE_URL", f"http://{host}:{port}")
    if host == "0.0.0.0":  # noqa: S104 (asked for by the user: serve the LAN)
        os.environ.setdefault("ALLOWED_HOSTS", _lan_hosts())
    started = embedded.services_start()
    os.environ.update(started)
    for name, url in started.items():
        print(f"  embedded {name.split('_')[0].lower():9} {url}")
    _manage("provenance_dev_ca")  # the local C2PA signer under var/c2pa/ (once; never overwritten)
    _manage("migrate", "--noinput", "-v", "0")
    if host in ("127.0.0.1", "localhost", "::1"):
        _manage("seed_demo")
    else:  # others can reach it: the demo accounts (a superuser among them) get a password of their own
        _manage("seed_demo", f"--password={embedded.secret_read_or_create('demo_password')[:20]}")
    _manage("seed_demo_cameos")  # alice's character cameo, bob approved
    _manage("seed_demo_clips")


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    _prepare(host, port)
    children = [
        Child("web server", server_command(host, port, workers=int(os.environ.get("WEB_WORKERS", "1")))),
        Child(
            "worker",
            worker_command(
                concurrency=int(os.environ.get("WORKER_CONCURRENCY", "2")),
                hostname=f"kino@{os.uname().nodename}",
                loglevel="INFO",
            ),
        ),
    ]
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if _wait_healthy(f"http://{host}:{port}/healthz", 60):
        print(_banner(host, port), flush=True)
    try:
        while not stopping:
            for child in children:
                child.tend()
            time.sleep(0.3)
    finally:
        print("\nStopping…", flush=True)
        for child in children:
            child.stop()
        deadline = time.monotonic() + STOP_GRACE_S
        for child in children:
            child.wait(deadline)
    # The embedded databases stop at exit, once no other process uses them.
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
