"""ASGI entry point: HTTP through Django, /ws/ through Channels.

Around them, outermost first: the client's real address and scheme from the proxies we trust
(TRUSTED_PROXIES, none by default), and the body limit (config.limits).
"""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# This process serves requests: its settings pool database connections (config/settings.py). Only
# for the settings' reading: processes started from here later (none in production; a test's
# Celery worker) must not inherit it.
_pool_asked = "KINO_DB_POOL" in os.environ
os.environ.setdefault("KINO_DB_POOL", "true")
django_asgi_app = get_asgi_application()
if not _pool_asked:
    del os.environ["KINO_DB_POOL"]

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware  # noqa: E402

from config.boot import boot_checks  # noqa: E402
from config.limits import BodyLimit, access_log_scrub  # noqa: E402
from config.websocket import EventsConsumer, JwtAuthMiddleware, origin_validated  # noqa: E402

boot_checks()  # a misconfigured engine stops the server here, with the reason
access_log_scrub()

kino = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_validated(JwtAuthMiddleware(URLRouter([path("ws/", EventsConsumer.as_asgi())]))),
    }
)
application: Any = BodyLimit(kino, settings.REQUEST_MAX_BYTES)
if settings.TRUSTED_PROXIES:
    application = ProxyHeadersMiddleware(application, trusted_hosts=settings.TRUSTED_PROXIES)
