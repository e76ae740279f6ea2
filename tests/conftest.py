"""Test session: the same embedded PostgreSQL and Redis as `make run` (or DATABASE_URL / REDIS_URL)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings

from config import embedded


def pytest_configure(config: pytest.Config) -> None:
    started = embedded.services_start()
    if "DATABASE_URL" in started:
        # The socket directory is known only once the server runs; settings guessed it at import.
        import environ

        parsed = environ.Env.db_url_config(started["DATABASE_URL"])
        settings.DATABASES["default"].update({k: parsed[k] for k in ("HOST", "NAME", "OPTIONS")})


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    """Throttle counters and channel groups must not leak from one test into the next."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()


@pytest.fixture(autouse=True)
def _media_root(tmp_path: Any, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def api() -> Any:
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def auth_client() -> Callable[[Any], Any]:
    """A client that carries `user`'s access token."""
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    def make(user: Any) -> Any:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        return client

    return make


def database_url() -> str:
    """The URL of the database the tests run on (the test database, once it exists)."""
    db = settings.DATABASES["default"]
    host = db["HOST"] or db.get("OPTIONS", {}).get("host", "")
    if host.startswith("/"):
        return f"postgres://{db['USER']}:{db['PASSWORD']}@/{db['NAME']}?host={host}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def live_stack(transactional_db: None, tmp_path: Any) -> Any:
    """Kino served by real processes; data must be committed (transactional_db) for them to see it."""
    from tests.live import LiveStack

    (tmp_path / "mail").mkdir()
    stack = LiveStack(tmp_path / "mail").start()
    yield stack
    stack.stop()


@pytest.fixture
def listen():
    """listen(user_id) starts hearing that member's WebSocket events; calling the result drains them."""
    import asyncio

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from config.events import user_group

    def start(user_id):
        layer = get_channel_layer()
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(user_group(user_id), channel)

        async def drain():
            events = []
            while True:
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
                except TimeoutError:
                    return events
                events.append(message["event"])

        return lambda: async_to_sync(drain)()

    return start
