"""What a client hears on the WebSocket while its clip is made."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from config.events import user_group
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def listen(user_id):
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


def test_events_follow_the_job_from_queued_to_succeeded(auth_client, run_on_commit, settings, fresh_engine):
    settings.GENERATION_STEPS = 3
    user = UserFactory()
    received = listen(user.id)
    response = run_on_commit(
        auth_client(user).post,
        "/api/v1/generations",
        {"prompt": "a cat dancing", "duration_s": 4},
        format="json",
    )
    events = received()
    types = [e["type"] for e in events]
    assert types == ["generation.queued", "generation.running"] + ["generation.progress"] * 3 + [
        "generation.succeeded"
    ]
    assert {e["data"]["id"] for e in events} == {response.json()["id"]}
    assert [e["data"]["percent"] for e in events if e["type"] == "generation.progress"] == [33, 66, 100]
    assert events[-1]["data"]["video_id"]
    assert all(set(e) == {"type", "data", "ts"} for e in events)
