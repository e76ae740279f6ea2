"""The Celery app: queue `default` (embeddings, moderation, mail, fan-out) and `generation` (GPU).

Reliability settings live in config/settings.py (CELERY_*). Each worker also
writes a heartbeat key to Redis, which /healthz reads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from typing import Any

from celery import Celery, bootsteps, signals
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kino")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Priority jobs have their own queue. A worker serving both takes from them in turn (kombu rotates
# the queues it polls), so a priority job waits for at most one ordinary job, and ordinary jobs
# still get every other turn: priority without starvation.
app.conf.task_queues = (Queue("default"), Queue("generation.priority"), Queue("generation"))
app.conf.task_routes = {"generation.*": {"queue": "generation"}}
app.autodiscover_tasks()

HEARTBEAT_PREFIX = "kino:worker:"
ENGINE_PREFIX = "kino:engine:"  # which model a worker's pool loaded (written by the pipeline's load_engine)
logger = logging.getLogger(__name__)


def _redis() -> Any:
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)


def redis_errors() -> type[Exception]:
    import redis

    return redis.RedisError


class Heartbeat(bootsteps.StartStopStep):
    """Every WORKER_HEARTBEAT_S seconds: `kino:worker:<hostname>` = {queues, ts}, expiring after 3 beats."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref: Any = None
        self.client: Any = None

    def start(self, worker: Any) -> None:
        from django.conf import settings

        self.interval = settings.WORKER_HEARTBEAT_S
        self.client = _redis()
        with contextlib.suppress(OSError, redis_errors()):
            self.client.delete(ENGINE_PREFIX + worker.hostname)  # a restarted worker has loaded nothing yet
        self.beat(worker)
        self.tref = worker.timer.call_repeatedly(self.interval, self.beat, (worker,), priority=10)

    def beat(self, worker: Any) -> None:
        queues = (
            sorted(q.name for q in worker.app.amqp.queues.consume_from.values())
            if worker.app.amqp.queues.consume_from
            else []
        )
        from config.health import status_checks_run

        # The apps' status checks (moderation's face models) as this worker sees them, for /healthz.
        status = status_checks_run()
        payload = json.dumps(
            {"hostname": worker.hostname, "queues": queues, "ts": time.time(), "status": status}
        )
        # Redis down: /healthz reports that on its own; the worker keeps going.
        with contextlib.suppress(OSError, redis_errors()):
            self.client.set(HEARTBEAT_PREFIX + worker.hostname, payload, ex=self.interval * 3)

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
        if self.client is not None:
            with contextlib.suppress(OSError, redis_errors()):
                self.client.delete(HEARTBEAT_PREFIX + worker.hostname, ENGINE_PREFIX + worker.hostname)


class Periodic(bootsteps.StartStopStep):
    """Calls each function of settings.WORKER_PERIODIC (dotted path: seconds) in the main process."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.trefs: list[Any] = []

    def start(self, worker: Any) -> None:
        from django.conf import settings
        from django.utils.module_loading import import_string

        for path, every_s in settings.WORKER_PERIODIC.items():
            self.trefs.append(
                worker.timer.call_repeatedly(every_s, self.call, (import_string(path),), priority=5)
            )

    def call(self, function: Any) -> None:
        from django.db import close_old_connections

        try:
            function()
        except (OSError, redis_errors(), database_errors()):
            logger.warning("worker.periodic_failed", extra={"function": function.__name__}, exc_info=True)
        finally:
            close_old_connections()

    def stop(self, worker: Any) -> None:
        for tref in self.trefs:
            tref.cancel()


def database_errors() -> type[Exception]:
    from django.db import DatabaseError

    return DatabaseError


app.steps["worker"].add(Heartbeat)
app.steps["worker"].add(Periodic)


@signals.worker_init.connect
def _boot_checks(**kwargs: Any) -> None:
    """A worker with a misconfigured engine refuses to start, instead of failing its first job."""
    import django

    django.setup()
    from config.boot import boot_checks

    boot_checks()


def worker_heartbeats() -> list[dict[str, Any]]:
    """Live workers (those that beat recently), each with the engine its pool loaded, if any yet."""
    client = _redis()
    keys = list(client.scan_iter(match=HEARTBEAT_PREFIX + "*", count=100))
    beats = [json.loads(value) for value in (client.mget(keys) if keys else []) if value]
    engines = client.mget([ENGINE_PREFIX + beat["hostname"] for beat in beats]) if beats else []
    for beat, engine in zip(beats, engines, strict=True):
        beat["engine"] = json.loads(engine) if engine else None
    return beats


def worker_engine_note(hostname: str, *, name: str, version: str) -> None:
    """A worker's pool says which engine it has loaded (kept while the worker lives; /healthz shows it)."""
    if not hostname:
        return
    payload = json.dumps({"name": name, "version": version})
    with contextlib.suppress(OSError, redis_errors()):
        _redis().set(ENGINE_PREFIX + hostname, payload, ex=24 * 3600)
