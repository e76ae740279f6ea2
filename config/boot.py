"""The checks a serving process runs before it serves: Kino's own system checks (tag "kino").

`manage.py check` and `migrate` run them too; uvicorn and Celery do not run Django's checks on
their own, so config/asgi.py and the workers' init call `boot_checks()`.
"""

from __future__ import annotations

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def boot_checks() -> None:
    problems = [m for m in checks.run_checks(tags=["kino"]) if m.level >= checks.ERROR]
    if problems:
        raise ImproperlyConfigured("\n".join(str(problem) for problem in problems))
