"""ASGI entry point: HTTP through Django, /ws/ through Channels.

Around them, outermost first: the client's real address and scheme from the proxies we trust
(TRUSTED_PROXIES, none by default), and the body limit (config.limits).

Django's own ASGI handler runs the middleware chain in async mode: each of Django's middleware (sessions,
CSRF, auth, messages, ...) then runs its process_request and process_response in a round trip to the
sync thread, the sync-only ones (WhiteNoise, ours) switch the chain back and forth, and the view is
one more trip: about a dozen per request. Every middleware and view here is sync, so
`SyncChainASGIHandler` runs the chain and the view as WSGI does, in one trip: the same middleware, in
the same order, doing the same work (a trivial request alone through uvicorn: 5.3 -> 3.9 ms).
"""

import os
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler with the request's middleware chain and view run synchronously, in one
    hop to the sync thread (Django's `get_response`, as under WSGI)."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """As django.core.asgi.get_asgi_application, with the handler above."""
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()


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

from config.boot import boot_checks, boot_warm  # noqa: E402
from config.limits import BodyLimit, access_log_scrub  # noqa: E402
from config.websocket import EventsConsumer, JwtAuthMiddleware, origin_validated  # noqa: E402

boot_checks()  # a misconfigured engine stops the server here, with the reason
boot_warm()  # the text policy's encoder loads before the server answers (a few seconds)
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
