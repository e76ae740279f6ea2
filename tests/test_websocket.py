"""The WebSocket at /ws/: JWT handshake, origin check, one group per user, one envelope."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from rest_framework_simplejwt.tokens import RefreshToken

from config.asgi import application
from config.events import event_send
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@sync_to_async
def token_for(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


async def connect(query: str = "", headers: list | None = None):
    communicator = WebsocketCommunicator(application, f"/ws/{query}", headers=headers or [])
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def test_valid_token_joins_the_users_group_and_receives_events():
    user = await sync_to_async(UserFactory)()
    other = await sync_to_async(UserFactory)()
    communicator, connected = await connect(f"?token={await token_for(user)}")
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "session.ready"
    assert hello["data"] == {"user_id": str(user.id)}

    # An event for someone else never arrives; one for this user does, in the envelope
    await sync_to_async(event_send)(user_id=other.id, event_type="test.other", data={})
    await sync_to_async(event_send)(user_id=user.id, event_type="test.hello", data={"n": 1})
    event = await communicator.receive_json_from(timeout=5)
    assert set(event) == {"type", "data", "ts"}
    assert (event["type"], event["data"]) == ("test.hello", {"n": 1})
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_bearer_header_works_and_ping_pongs():
    user = await sync_to_async(UserFactory)()
    bearer = f"Bearer {await token_for(user)}".encode()
    communicator, connected = await connect(headers=[(b"authorization", bearer)])
    assert connected
    await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
    await communicator.send_to(text_data="not json")
    error = await communicator.receive_json_from(timeout=5)
    assert (error["type"], error["data"]["code"]) == ("error", "unknown_message")
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("query", "origin"),
    [
        pytest.param("", None, id="no-token"),
        pytest.param("?token=garbage", None, id="bad-token"),
        pytest.param("?token=REFRESH", None, id="refresh-token-instead-of-access"),
        pytest.param("?token=VALID", b"https://evil.example", id="foreign-origin"),
    ],
)
async def test_handshake_is_refused(query, origin):
    user = await sync_to_async(UserFactory)()
    refresh = await sync_to_async(RefreshToken.for_user)(user)
    query = query.replace("REFRESH", str(refresh)).replace("VALID", str(refresh.access_token))
    headers = [(b"origin", origin)] if origin else []
    communicator, connected = await connect(query, headers)
    assert not connected
    await communicator.disconnect()


async def test_inactive_user_is_refused_and_own_origin_is_allowed():
    banned = await sync_to_async(UserFactory)(is_active=False)
    _, connected = await connect(f"?token={await token_for(banned)}")
    assert not connected
    user = await sync_to_async(UserFactory)()
    communicator, connected = await connect(
        f"?token={await token_for(user)}", [(b"origin", b"http://localhost")]
    )
    assert connected
    await communicator.disconnect()


async def test_socket_closes_when_its_token_expires():
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    user = await sync_to_async(UserFactory)()
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=1))
    communicator, connected = await connect(f"?token={token}")
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "session.ready"
    expired = await communicator.receive_json_from(timeout=5)
    assert expired["type"] == "session.expired"
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()


async def test_an_idle_socket_still_hears_events_later():
    # Regression: an idle receive outlasting the Redis client's socket timeout used to kill the consumer.
    import asyncio

    user = await sync_to_async(UserFactory)()
    communicator, connected = await connect(f"?token={await token_for(user)}")
    assert connected
    await communicator.receive_json_from(timeout=5)
    await asyncio.sleep(7)
    await sync_to_async(event_send)(user_id=user.id, event_type="test.late", data={})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "test.late"
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("action", "reason"), [("deactivate", "account_inactive"), ("delete", "account_deleted")]
)
async def test_deactivation_and_deletion_close_the_members_sockets(action, reason):
    from accounts import services
    from tests.factories import PASSWORD

    user = await sync_to_async(UserFactory)()
    communicator, connected = await connect(f"?token={await token_for(user)}")
    assert connected
    await communicator.receive_json_from(timeout=5)
    if action == "deactivate":
        await sync_to_async(services.member_deactivate)(user=user)
    else:
        await sync_to_async(services.user_delete)(user=user, password=PASSWORD)
    closed = await communicator.receive_json_from(timeout=5)
    assert (closed["type"], closed["data"]["reason"]) == ("session.closed", reason)
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
