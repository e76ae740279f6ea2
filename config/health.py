"""GET /healthz: database, Redis and worker heartbeat, for load balancers and people.

Apps above `config` add their own status through `status_check_register` (moderation: can the face
models load?): each check runs in the serving process and in every worker, which puts the result in
its heartbeat; /healthz reports the check down when any of them says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import worker_heartbeats

StatusCheck = Callable[
    [], dict[str, Any]
]  # {"ok": bool, "error": code when not, ...}; cheap after its first call
_status_checks: dict[str, StatusCheck] = {}


def status_check_register(name: str, check: StatusCheck) -> None:
    _status_checks[name] = check


def status_checks_run() -> dict[str, dict[str, Any]]:
    """Each registered check in this process (a worker's heartbeat carries the result)."""
    return {name: check() for name, check in _status_checks.items()}


def _statuses(workers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per registered check: down when this process or any live worker says so (or does not say)."""
    results = {}
    for name, local in status_checks_run().items():
        down = sorted(w["hostname"] for w in workers if not (w.get("status") or {}).get(name, {}).get("ok"))
        result: dict[str, Any] = {
            "ok": bool(local.get("ok")) and not down,
            "web": local,
            "workers_down": down,
        }
        if not result["ok"]:
            result["error"] = local.get("error") if not local.get("ok") else f"{name}_down_in_worker"
        results[name] = result
    return results


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
    except (DatabaseError, redis.RedisError, OSError) as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    result = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    if detail:
        result.update(detail)
    return result


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2).ping()


def _workers() -> dict[str, Any]:
    beats = worker_heartbeats()
    now = time.time()
    return {
        "count": len(beats),
        "workers": [
            {
                "hostname": b["hostname"],
                "queues": b["queues"],
                "last_heartbeat_s": round(now - b["ts"], 2),
                "engine": b["engine"],  # {name, version} once its pool has loaded one; null before
                "status": b.get("status") or {},  # the registered status checks, as the worker ran them
            }
            for b in sorted(beats, key=lambda b: b["hostname"])
        ],
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "redis": _timed(_redis)}
    checks["worker"] = (
        _timed(_workers) if checks["redis"]["ok"] else {"ok": False, "error": "redis_unavailable"}
    )
    if checks["worker"]["ok"] and checks["worker"]["count"] == 0:
        checks["worker"]["ok"] = False
        checks["worker"]["error"] = "no_worker_heartbeat"
    checks.update(_statuses(checks["worker"].get("workers", [])))
    serving = checks["database"]["ok"] and checks["redis"]["ok"]
    healthy = all(check["ok"] for name, check in checks.items() if name not in ("database", "redis"))
    status = "ok" if serving and healthy else ("degraded" if serving else "down")
    loaded = sorted(
        {
            f"{w['engine']['name']} {w['engine']['version']}"
            for w in checks["worker"].get("workers", [])
            if w["engine"]
        }
    )
    body = {
        "status": status,
        "checks": checks,
        "engine": {"configured": settings.GENERATION_ENGINE, "loaded": loaded},
    }
    return JsonResponse(body, status=200 if serving else 503)
