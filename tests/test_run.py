"""`make run`'s launcher: up with embedded services and demo data, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.live import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def processes_mentioning(*needles: str) -> set[int]:
    found = set()
    for proc in psutil.process_iter(["cmdline"]):
        text = " ".join(proc.info["cmdline"] or [])
        if any(needle in text for needle in needles):
            found.add(proc.pid)
    return found


def alive(pids: set[int]) -> set[int]:
    return {
        pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    }


def demo_feed_is_there(port: int, token: str) -> None:
    """alice's demo clips, made by the built-in model through the pipeline, are posts."""
    grid = httpx.get(
        f"http://127.0.0.1:{port}/api/v1/users/alice/posts", headers={"Authorization": f"Bearer {token}"}
    )
    assert [post["creator"]["username"] for post in grid.json()["results"]] == ["alice", "alice"]


def test_launcher_serves_then_stops_everything_on_ctrl_c(tmp_path):
    var = tmp_path / "var"
    port, redis_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "KINO_ENV")
    }
    env.update(KINO_VAR_DIR=str(var), KINO_REDIS_PORT=str(redis_port), PORT=str(port), WORKER_CONCURRENCY="1")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "config.run"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, status = time.monotonic() + 120, None
        while time.monotonic() < deadline and status != "ok":
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["status"]
            except (httpx.HTTPError, ValueError):
                time.sleep(0.5)
        assert status == "ok"
        login = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            json={"username": "alice", "password": "kino-demo-pass"},
        )
        assert login.status_code == 200
        # Everything it started: its process tree (server, worker and its children) plus the
        # daemonized PostgreSQL (by its data folder) and Redis (by its port).
        started = {child.pid for child in psutil.Process(launcher.pid).children(recursive=True)}
        started |= processes_mentioning(str(var / "pgdata"), f"127.0.0.1:{redis_port}")
        assert len(started) >= 5
        token = login.json()["access"]
        demo_feed_is_there(port, token)
        socket_with_a_token_in_its_query(port, token)
        forwarded_for_is_not_believed(port)
        started |= worker_killed_and_started_again(launcher.pid, port)
    finally:
        os.killpg(launcher.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        output, _ = launcher.communicate(timeout=60)
    assert "Kino is up." in output
    assert "Demo logins" in output
    assert "3 posts, a remix, a like, a comment and a report; a public figure" in output
    assert "the worker stopped" in output
    assert "restarting the worker" in output
    assert token not in output  # the access log keeps paths, not query strings
    assert "Stopped." in output
    deadline = time.monotonic() + 20
    while alive(started) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert alive(started) == set()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def wait_until(predicate, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return None


def celery_child(launcher: int, other_than: int | None = None) -> psutil.Process | None:
    for child in psutil.Process(launcher).children():
        if "celery" in " ".join(child.cmdline()) and child.pid != other_than:
            return child
    return None


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["status"] == "ok"
    except (httpx.HTTPError, ValueError):
        return False


def socket_with_a_token_in_its_query(port: int, token: str) -> None:
    import asyncio

    import websockets

    async def once() -> None:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/?token={token}") as ws:
            await ws.recv()

    asyncio.run(once())


def forwarded_for_is_not_believed(port: int) -> None:
    """Ten failed logins claiming ten addresses come from one address: the eleventh is locked out."""
    for i in range(10):
        httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            json={"username": f"nobody{i}", "password": "wrong-password"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
    eleventh = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/auth/token",
        json={"username": "alice", "password": "kino-demo-pass"},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert eleventh.status_code == 429


def worker_killed_and_started_again(launcher: int, port: int) -> set[int]:
    worker = celery_child(launcher)
    assert worker is not None
    worker.kill()  # the worker's main process dies: the launcher starts it again
    assert wait_until(lambda: celery_child(launcher, other_than=worker.pid), 30)
    assert wait_until(lambda: healthy(port), 90)
    return {child.pid for child in psutil.Process(launcher).children(recursive=True)}
