"""GET /healthz: database, Redis and worker heartbeat, for load balancers and people."""

from __future__ import annotations

import time
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import worker_heartbeats


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
    serving = checks["database"]["ok"] and checks["redis"]["ok"]
    status = "ok" if serving and checks["worker"]["ok"] else ("degraded" if serving else "down")
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
