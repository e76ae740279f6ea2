"""The AsyncAPI document of /ws/ (/api/asyncapi/) against the AsyncAPI 3 specification, the code
that sends events, and the envelopes a real session receives.

tests/schemas/asyncapi-3.0.0.json.gz is the specification's JSON Schema, `schemas/3.0.0-without-$id.json`
of the npm package @asyncapi/specs 6.11.1 (Apache-2.0), compacted.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from config import asyncapi
from config.websocket import CLOSE_ACCOUNT_CLOSED, CLOSE_TOKEN_EXPIRED

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "mediakit", "accounts", "cameos", "feed", "generation", "moderation", "provenance")
SPEC = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json.gz"


def document() -> dict[str, Any]:
    return json.loads(json.dumps(asyncapi.asyncapi_document("http://testserver")))


def envelope_errors(doc: dict[str, Any], envelope: dict[str, Any]) -> list[str]:
    """What is wrong with one envelope the server sent, by the document's message of its type."""
    if envelope.get("type") not in {event.type for event in asyncapi.EVENTS}:
        return [f"undocumented event type {envelope.get('type')!r}"]
    schema = {"$ref": f"#/components/messages/{envelope['type']}/payload", "components": doc["components"]}
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{envelope['type']}: {error.message}" for error in validator.iter_errors(envelope)]


# --- the document -------------------------------------------------------------------------------


def test_the_served_document_is_asyncapi_3(client, settings):
    settings.ALLOWED_HOSTS = ["kino.example"]
    response = client.get("/api/asyncapi/", HTTP_HOST="kino.example")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    doc = response.json()
    spec = json.loads(gzip.decompress(SPEC.read_bytes()))
    problems = [error.message[:200] for error in jsonschema.Draft7Validator(spec).iter_errors(doc)]
    assert not problems
    assert doc["asyncapi"] == "3.0.0"
    assert doc["servers"]["kino"] | {"security": None} == {
        "host": "kino.example",
        "protocol": "ws",
        "security": None,
    }
    assert doc["channels"]["events"]["address"] == "/ws/"


def test_the_document_names_auth_close_codes_and_every_message():
    doc = document()
    schemes = doc["components"]["securitySchemes"]
    assert (schemes["accessTokenQuery"]["in"], schemes["accessTokenQuery"]["name"]) == ("query", "token")
    assert schemes["accessTokenBearer"]["scheme"] == "bearer"
    channel = doc["channels"]["events"]
    assert set(channel["x-close-codes"]) == {str(CLOSE_TOKEN_EXPIRED), str(CLOSE_ACCOUNT_CLOSED)}
    assert f"**{CLOSE_TOKEN_EXPIRED}**" in channel["description"]
    assert f"**{CLOSE_ACCOUNT_CLOSED}**" in channel["description"]
    sent = [ref["$ref"].rsplit("/", 1)[-1] for ref in doc["operations"]["sendEvents"]["messages"]]
    assert sent == [event.type for event in asyncapi.EVENTS]
    assert set(channel["messages"]) == {*sent, "ping"}
    for message in doc["components"]["messages"].values():
        jsonschema.Draft7Validator.check_schema(message["payload"])


# --- the code -----------------------------------------------------------------------------------

CLOSES = re.compile(r'sockets_close_on_commit\([^)]*reason="([a-z_]+)"', re.DOTALL)
EVENT_TYPE = re.compile(r"[a-z_]+(\.[a-z_{}]+)?")
SENDER = re.compile(r"(\w+_)?send(_on_commit)?|event_envelope")


def sources() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def sent_types(text: str) -> set[str]:
    """The event types a module sends: the text arguments (or `event_type=`) of every call of a
    function named `send`, `*_send`, `*_send_on_commit` or `event_envelope`; f-strings as
    templates ("generation.{state}")."""
    found = set()
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if not SENDER.fullmatch(name):
            continue
        for arg in [*node.args, *(kw.value for kw in node.keywords if kw.arg == "event_type")]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
            elif isinstance(arg, ast.JoinedStr):
                found.add(ast.unparse(arg)[2:-1])  # f"generation.{state}" -> generation.{state}
    return {kind for kind in found if EVENT_TYPE.fullmatch(kind)}


def test_every_event_type_the_code_sends_is_documented_and_every_documented_one_is_sent():
    documented = {event.type for event in asyncapi.EVENTS}
    literals: set[str] = set()
    templates: set[str] = set()
    for text in sources().values():
        found = sent_types(text)
        literals |= {kind for kind in found if "{" not in kind}
        templates |= {kind for kind in found if "{" in kind}
    assert {"session.ready", "pong", "error", "follow.created", "generation.progress"} <= literals
    assert templates == {"generation.{state}"}
    assert literals <= documented, literals - documented
    patterns = [re.compile(re.sub(r"\\\{\w+\\\}", "[a-z_]+", re.escape(t)) + "$") for t in templates]
    unsent = {kind for kind in documented - literals if not any(p.match(kind) for p in patterns)}
    assert not unsent


def test_the_scan_sees_each_way_of_sending():
    assert sent_types('event_send_on_commit(user_id=u, event_type="a.b", data={})') == {"a.b"}
    assert sent_types('ctx.send("a.c")\njob_event_send(job, "a.d")') == {"a.c", "a.d"}
    assert sent_types('self.send_json(event_envelope(\n "pong", {}))') == {"pong"}
    assert sent_types('event_send(user_id=u, event_type=f"a.{state}", data=d)') == {"a.{state}"}


def test_states_stages_and_close_reasons_are_generations_and_accounts():
    from generation.models import Job
    from generation.pipeline import STAGES

    assert tuple(Job.State.values) == asyncapi.JOB_STATES
    assert tuple(Job.Kind.values) == asyncapi.JOB_KINDS
    assert tuple(stage.__name__ for stage in STAGES) == asyncapi.GENERATION_STAGES
    reasons = {reason for text in sources().values() for reason in CLOSES.findall(text)}
    assert reasons == set(asyncapi.CLOSE_REASONS)
    assert {f"generation.{state}" for state in Job.State.values} <= {e.type for e in asyncapi.EVENTS}


def test_notification_types_are_feeds():
    from feed.models import NotificationGroup

    assert tuple(NotificationGroup.Type.values) == asyncapi.NOTIFICATION_TYPES


def test_a_wrong_envelope_is_caught():
    doc = document()
    ready = {"type": "session.ready", "data": {"user_id": "not-a-uuid"}, "ts": "2026-01-01T00:00:00+00:00"}
    assert envelope_errors(doc, ready)
    assert envelope_errors(doc, {"type": "generation.queued", "data": {}, "ts": "now"})
    assert envelope_errors(doc, {"type": "video.liked", "data": {}, "ts": "now"})


# --- what a session really hears: a clip made by the tiny engine; cancelled and failed jobs ------


@pytest.fixture
def fresh_engine():
    from generation import engines

    engines.engine_install(None)
    yield
    engines.engine_install(None)


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_engine")
def test_a_generations_events_match_the_document(
    auth_client, listen, settings, django_capture_on_commit_callbacks
):
    from generation import errors, jobs
    from tests.factories import JobFactory, UserFactory

    settings.GENERATION_STEPS = 2
    member = UserFactory()
    heard = listen(member.id)
    with django_capture_on_commit_callbacks(execute=True):
        made = auth_client(member).post(
            "/api/v1/generations", {"prompt": "a red ball bouncing", "duration_s": 4}, format="json"
        )
        cancelled = JobFactory(user=member)
        auth_client(member).post(f"/api/v1/generations/{cancelled.id}/cancel")
        failed = JobFactory(user=member)
        jobs.job_finish(
            failed.id, "failed", from_states=("queued",), refund=False, error=errors.INTERNAL_ERROR
        )
    assert made.status_code == 201, made.content[:300]

    events = heard()
    doc = document()
    assert [problem for event in events for problem in envelope_errors(doc, event)] == []
    assert {event["type"] for event in events} == {
        "generation.queued",
        "generation.running",
        "generation.stage",
        "generation.enhanced",
        "generation.progress",
        "generation.succeeded",
        "generation.cancelled",
        "generation.failed",
        "notification.created",  # generation_finished, for the clip that was made
    }


# --- and on a socket: the session's own events, a follow, a blocked job, the close codes ---------


async def session_heard(token: str, act: Any = None, *, close_code: int) -> list[dict[str, Any]]:
    """Open a socket; ping and send nonsense, then `act` (sync, in a thread), if given; hear all
    until it closes."""
    from channels.db import database_sync_to_async
    from channels.testing.websocket import WebsocketCommunicator

    from config.asgi import application

    socket = WebsocketCommunicator(application, f"/ws/?token={token}")
    connected, _ = await socket.connect(timeout=5)
    assert connected
    heard = [await socket.receive_json_from(timeout=5)]
    if act is not None:
        await socket.send_json_to({"type": "ping"})
        await socket.send_to(text_data='{"type": "subscribe"}')
        heard += [await socket.receive_json_from(timeout=5) for _ in range(2)]
        await database_sync_to_async(act)()
    while (output := await socket.receive_output(timeout=5))["type"] == "websocket.send":
        heard.append(json.loads(output["text"]))
    assert output == {"type": "websocket.close", "code": close_code}
    await socket.disconnect()
    return heard


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_sockets_events_match_the_document():
    from datetime import timedelta

    from channels.db import database_sync_to_async
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts import services
    from tests.factories import JobFactory, UserFactory

    member, fan = await database_sync_to_async(UserFactory)(), await database_sync_to_async(UserFactory)()
    await database_sync_to_async(JobFactory)(user=member)

    def followed_then_deactivated() -> None:
        services.follow_create(actor=fan, target=member)
        services.member_deactivate(user=member)

    closed = await session_heard(
        str(AccessToken.for_user(member)), followed_then_deactivated, close_code=CLOSE_ACCOUNT_CLOSED
    )
    short = AccessToken.for_user(fan)
    short.set_exp(lifetime=timedelta(seconds=1))
    expired = await session_heard(str(short), close_code=CLOSE_TOKEN_EXPIRED)

    doc = document()
    assert [problem for event in closed + expired for problem in envelope_errors(doc, event)] == []
    assert [event["type"] for event in closed] == [
        "session.ready",
        "pong",
        "error",
        "notification.created",
        "follow.created",
        "generation.blocked",
        "session.closed",
    ]
    assert [event["type"] for event in expired] == ["session.ready", "session.expired"]
