"""The one WebSocket, /ws/: authenticated with the API's JWT, one group per user.

A client connects to `/ws/?token=<access token>` (or sends `Authorization: Bearer …`).
No token, a bad or expired token, or a browser Origin we do not serve: the handshake
is refused (HTTP 403) before any group is joined.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from config.errors import UNKNOWN_MESSAGE
from config.events import event_envelope, user_group

logger = logging.getLogger(__name__)
CLOSE_TOKEN_EXPIRED = 4401
CLOSE_ACCOUNT_CLOSED = 4403  # deactivated, deleted or banned: refreshing will not help


def _token_from_scope(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin1").partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    tokens = query.get("token")
    return tokens[0] if tokens else None


@database_sync_to_async
def _user_for_token(raw: str) -> tuple[Any, float | None]:
    """The active user an access token names, and when the token expires (epoch seconds)."""
    try:
        token = AccessToken(raw)  # type: ignore[arg-type]
    except TokenError:
        return AnonymousUser(), None
    user_id = token.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])
    try:
        user = get_user_model().objects.filter(id=user_id, is_active=True).first()
    except (DjangoValidationError, ValueError, TypeError):  # a signed claim that is not an id
        user = None
    return (user, float(token["exp"])) if user else (AnonymousUser(), None)


@database_sync_to_async
def _still_active(user_id: Any) -> bool:
    return get_user_model().objects.filter(id=user_id, is_active=True).exists()


class JwtAuthMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        raw = _token_from_scope(scope)
        user, expires_at = await _user_for_token(raw) if raw else (AnonymousUser(), None)
        return await self.app(dict(scope, user=user, token_expires_at=expires_at), receive, send)


class NativeOrAllowedOriginValidator(OriginValidator):
    """Native apps send no Origin and are let through; a browser's Origin must be one we serve."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def origin_validated(app: Any) -> Any:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return NativeOrAllowedOriginValidator(app, hosts + list(settings.WS_ALLOWED_ORIGINS))


class EventsConsumer(AsyncJsonWebsocketConsumer):
    """Relays the events sent to the user's group; answers pings."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        self.group = user_group(user.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        if not await _still_active(user.id):  # deactivated between the handshake and joining the group
            await self.close(code=CLOSE_ACCOUNT_CLOSED)
            return
        await self.accept()
        await self.send_json(event_envelope("session.ready", {"user_id": str(user.id)}))
        # The socket lives no longer than its token: the client refreshes and reconnects.
        delay = max(0.0, self.scope["token_expires_at"] - time.time())
        self.expiry = asyncio.get_running_loop().call_later(
            delay, lambda: asyncio.ensure_future(self.expire())
        )

    async def expire(self) -> None:
        await self.send_json(event_envelope("session.expired", {"reason": "token_expired"}))
        await self.close(code=CLOSE_TOKEN_EXPIRED)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "expiry"):
            self.expiry.cancel()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json(event_envelope("pong", {}))
            return
        await self.send_json(
            event_envelope(
                "error", {"code": UNKNOWN_MESSAGE.code, "message": 'Only {"type": "ping"} is understood.'}
            )
        )

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None

    async def kino_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])

    async def kino_close(self, message: dict[str, Any]) -> None:
        await self.send_json(event_envelope("session.closed", {"reason": message["reason"]}))
        await self.close(code=CLOSE_ACCOUNT_CLOSED)
