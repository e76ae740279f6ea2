"""The checks a serving process runs before it serves: Kino's own system checks (tag "kino").

`manage.py check` and `migrate` run them too; uvicorn and Celery do not run Django's checks on
their own, so config/asgi.py and the workers' init call `boot_checks()`. A serving process then
warms what its apps registered (`warmer_register`) before it serves.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)


def boot_checks() -> None:
    problems = [m for m in checks.run_checks(tags=["kino"]) if m.level >= checks.ERROR]
    if problems:
        raise ImproperlyConfigured("\n".join(str(problem) for problem in problems))


# --- warming -------------------------------------------------------------------------------------

Warmer = Callable[[], object]
_warmers: list[Warmer] = []


def warmer_register(warmer: Warmer) -> Warmer:
    """An app's model that a request would otherwise load on first use (the text policy's encoder),
    loaded when a serving process starts instead; registered from the app's AppConfig.ready."""
    if warmer not in _warmers:
        _warmers.append(warmer)
    return warmer


def boot_warm() -> None:
    """Run the warmers before the process serves: its first requests do not wait for a model, nor
    share the cores with one loading. A warmer that fails is logged; the request that needs it
    then answers as it would without (moderation fails closed)."""
    for warmer in _warmers:
        try:
            warmer()
        except Exception:
            logger.exception("boot.warm_failed", extra={"warmer": getattr(warmer, "__qualname__", "")})
    # What the process holds from now on (Django, torch, the models: millions of objects) stays out
    # of the garbage collector's full passes, which otherwise walk all of it every few hundred
    # requests and show as the slowest requests' latency.
    gc.collect()
    gc.freeze()
