"""ASGI entry point: HTTP through Django, /ws/ through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)
from django.urls import path  # noqa: E402

from config.boot import boot_checks  # noqa: E402
from config.websocket import EventsConsumer, JwtAuthMiddleware, origin_validated  # noqa: E402

boot_checks()  # a misconfigured engine stops the server here, with the reason

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_validated(JwtAuthMiddleware(URLRouter([path("ws/", EventsConsumer.as_asgi())]))),
    }
)
