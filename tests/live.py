"""A live Kino: uvicorn (several processes) and a Celery worker, on the test database and Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
from django.conf import settings

from config.run import server_command, worker_command

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveStack:
    def __init__(
        self,
        mail_dir: Path,
        web_workers: int = 2,
        *,
        worker: bool = True,
        env: dict[str, str] | None = None,
        server_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}/ws/"
        self.mail_dir = mail_dir
        self.web_workers = web_workers
        self.processes: list[subprocess.Popen] = []
        self.with_worker = worker
        self.extra_env = env or {}
        self.server_env = server_env or {}  # for the web server only (the worker keeps `env`)
        self.log = mail_dir.parent / "stack.log"

    def env(self) -> dict[str, str]:
        from tests.conftest import database_url

        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            KINO_ENV="dev",
            DEBUG="false",
            DATABASE_URL=database_url(),
            REDIS_URL=settings.REDIS_URL,
            EMAIL_FILE_PATH=str(self.mail_dir),
            SITE_URL=self.base,
            WORKER_HEARTBEAT_S="1",
            # Every test client shares 127.0.0.1; rate limits have their own tests.
            THROTTLE_SIGNUP="10000/min",
            THROTTLE_LOGIN="10000/min",
            THROTTLE_WAITLIST="10000/min",
            MEDIA_ROOT=str(self.mail_dir.parent / "media"),
        )
        env.update(self.extra_env)
        return env

    def start(self) -> LiveStack:
        log = self.log.open("ab")
        common = {
            "cwd": ROOT,
            "env": self.env(),
            "stdout": log,
            "stderr": subprocess.STDOUT,
            "start_new_session": True,
        }
        server = server_command("127.0.0.1", self.port, workers=self.web_workers)
        worker = worker_command(concurrency=1, hostname=f"live{self.port}@%h", loglevel="WARNING")
        self.processes = [subprocess.Popen(server, **{**common, "env": {**self.env(), **self.server_env}})]
        if self.with_worker:
            self.processes.append(
                subprocess.Popen([*worker, "--without-mingle", "--without-gossip"], **common)
            )
        healthy = ("ok",) if self.with_worker else ("ok", "degraded")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"{self.base}/healthz", timeout=2).json()
                if health["status"] in healthy:
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            if any(p.poll() is not None for p in self.processes):
                break
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"live stack did not become healthy:\n{self.log.read_text(errors='replace')[-4000:]}"
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
