"""The AsyncAPI 3 document of the WebSocket at /ws/, served as JSON at /api/asyncapi/.

Every event the server sends is declared once, in EVENTS: its type, what it means and the schema of
its `data`. The document is built from that list, and tests/test_asyncapi.py holds the code to it:
every event type sent anywhere in Kino must be listed here, and every envelope a real session
receives must match its message's schema. Add an event here in the change that first sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import site_url
from config.websocket import CLOSE_ACCOUNT_CLOSED, CLOSE_TOKEN_EXPIRED

ASYNCAPI_VERSION = "3.0.0"
SCHEMAS = "#/components/schemas/"
# Job states and pipeline stages as generation names them (config may not import generation;
# tests/test_asyncapi.py checks these against generation.models.Job.State and pipeline.STAGES).
JOB_KINDS = ("generation", "extension", "stitch", "storyboard")
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled", "blocked")
GENERATION_STAGES = (
    "claim",
    "recheck",
    "load_engine",
    "enhance",
    "render",
    "assemble",
    "screen",
    "mark",
    "encode",
    "fingerprint",
    "draft",
)
CLOSE_REASONS = ("account_inactive", "account_deleted")
# Notification types as feed names them (tests/test_asyncapi.py checks them against NotificationGroup.Type).
NOTIFICATION_TYPES = (
    "liked",
    "commented",
    "replied",
    "mentioned",
    "followed",
    "remixed",
    "cameo_used",
    "cameo_requested",
    "cameo_approved",
    "cameo_denied",
    "cameo_revoked",
    "cameo_level_changed",
    "cameo_deleted",
    "cameo_suspended",
    "cameo_likeness_removed",
    "generation_finished",
    "moderation",
    "guardian_invited",
    "guardian_link_changed",
)
EXPORT_STATES = ("queued", "running", "succeeded", "failed")  # feed.models.DataExport.State
# cameos.models.Registration.State, as a registration event can carry it.
CAMEO_REGISTRATION_STATES = ("challenged", "queued", "processing", "succeeded", "failed", "expired")


@dataclass(frozen=True)
class Event:
    type: str  # the envelope's `type`: "<entity>.<what>"
    summary: str
    data: dict[str, Any]  # JSON Schema (draft 7) of the envelope's `data`


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An object with exactly these properties, all present."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **extra,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


_UUID = {"type": "string", "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}
# What every moderation.* event says of a decision (a reporter reads the reason code's own text).
_MODERATION: dict[str, Any] = {
    "decision_id": _UUID,
    "subject": _object({"kind": {"type": "string"}, "id": _UUID}),
    "action": {"type": "string"},
    "reason": _object({"code": {"type": "string"}, "text": {"type": "string"}}),
}
_COUNT = {"type": "integer", "minimum": 0}

SHARED_SCHEMAS: dict[str, dict[str, Any]] = {
    "StageTiming": _object({"stage": {"type": "string"}, "seconds": {"type": "number", "minimum": 0}}),
    "GenerationJob": _object(
        {
            "id": {**_UUID, "description": "The job, as in GET /api/v1/generations/{job_id}"},
            "kind": {"type": "string", "enum": list(JOB_KINDS)},
            "state": {"type": "string", "enum": list(JOB_STATES)},
            "stage": {
                "type": ["string", "null"],
                "description": "The pipeline stage the latest attempt is in or ended in (null before "
                f"the first claim): {', '.join(GENERATION_STAGES)}, or a stage added later",
            },
            "step": {**_COUNT, "description": "Denoising steps done in this attempt"},
            "steps": {**_COUNT, "description": "Denoising steps in all (0 until the render starts)"},
            "percent": {"type": "integer", "minimum": 0, "maximum": 100},
            "eta_s": {
                "type": ["number", "null"],
                "minimum": 0,
                "description": "Seconds left, estimated while the render runs; else null",
            },
            "attempts": _COUNT,
            "enhanced_prompt": {
                "type": ["string", "null"],
                "description": "What the engine is given, once the enhance stage ran; else null",
            },
            "unmapped": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Words of the prompt the enhancer could not map onto what the model knows",
            },
            "shot": {
                "type": ["integer", "null"],
                "minimum": 1,
                "description": "The storyboard shot (or stitch part) being made; else null",
            },
            "timings": {
                "type": "array",
                "items": {"$ref": SCHEMAS + "StageTiming"},
                "description": "Seconds each stage of the latest attempt took, in order",
            },
            "error_code": {
                "type": ["string", "null"],
                "description": "Why it was blocked, failed or requeued: an API error code",
            },
            "video_id": {**_nullable(_UUID), "description": "The draft, once it succeeded"},
        },
        description="A generation job's progress (the `data` of every generation.* event)",
    ),
    "DataExport": _object(
        {
            "id": {**_UUID, "description": "The export, as in GET /api/v1/me/export/{export_id}"},
            "state": {"type": "string", "enum": list(EXPORT_STATES)},
            "percent": {"type": "integer", "minimum": 0, "maximum": 100},
            "error_code": {"type": ["string", "null"], "description": "Why it failed: an API error code"},
        },
        description="A data export's progress (the `data` of every export.* event); the download link "
        "is in GET /api/v1/me/export/{export_id} once it succeeded",
    ),
}


def _generation(state: str, sent: str, job_state: str | None = None) -> Event:
    in_state = {"properties": {"state": {"const": job_state or state}}}
    data = {"allOf": [{"$ref": SCHEMAS + "GenerationJob"}, in_state]}
    return Event(f"generation.{state}", sent, data)


def _export(what: str, sent: str, export_state: str | None = None) -> Event:
    in_state = {"properties": {"state": {"const": export_state or what}}}
    return Event(f"export.{what}", sent, {"allOf": [{"$ref": SCHEMAS + "DataExport"}, in_state]})


EVENTS: tuple[Event, ...] = (
    Event("session.ready", "The socket is open and hears the member's events", _object({"user_id": _UUID})),
    Event(
        "session.expired",
        f"The access token has expired: the socket closes with {CLOSE_TOKEN_EXPIRED}; refresh and reconnect",
        _object({"reason": {"const": "token_expired"}}),
    ),
    Event(
        "session.closed",
        f"The account was deactivated or deleted: the socket closes with {CLOSE_ACCOUNT_CLOSED}",
        _object({"reason": {"type": "string", "enum": list(CLOSE_REASONS)}}),
    ),
    Event("pong", 'The answer to {"type": "ping"}', _object({})),
    Event(
        "error",
        "A message the server does not understand (code `unknown_message`)",
        _object({"code": {"type": "string"}, "message": {"type": "string"}}),
    ),
    Event(
        "follow.created",
        "Someone followed the member (at most once an hour per follower)",
        _object({"follower": _object({"id": _UUID, "username": {"type": "string"}})}),
    ),
    Event(
        "notification.created",
        "A notification for a type the member has on push: a new one, or one more actor in a group "
        "(`id` names the group of GET /api/v1/notifications; `count` is its count now)",
        _object(
            {
                "id": _UUID,
                "type": {"type": "string", "enum": list(NOTIFICATION_TYPES)},
                "count": {"type": "integer", "minimum": 1},
                "target": _nullable(
                    _object(
                        {"kind": {"type": "string"}, "id": _nullable(_UUID)},
                        description='What it is about ("video", "comment", "user"); null for nothing',
                    )
                ),
                "actor_id": {**_nullable(_UUID), "description": "Who did it; null for the system's own"},
                "data": {"type": "object", "description": "Type-specific details, as in the REST list"},
            }
        ),
    ),
    _generation("queued", "A job was asked for, or goes back to the queue after a transient error"),
    _generation("running", "A worker claimed the job (before the model loads)"),
    _generation("stage", "The job entered its next pipeline stage (`stage`)", "running"),
    _generation(
        "enhanced",
        "The prompt was enhanced (`enhanced_prompt`; words it could not map: `unmapped`)",
        "running",
    ),
    _generation(
        "progress",
        "One more denoising step (`step`, `steps`, `percent`, `eta_s`; a storyboard's `shot`)",
        "running",
    ),
    _generation("succeeded", "The draft is made (`video_id`)"),
    _generation("failed", "The job failed (`error_code`); its quota unit is given back"),
    _generation("cancelled", "The owner cancelled the job"),
    _generation("blocked", "The job was refused or stopped (`error_code`); its quota unit is given back"),
    Event(
        "cameo.registration",
        "A cameo registration moved on: queued, each check it runs (`stage`, `progress` in percent), "
        "and how it ended (`state` succeeded with `cameo_id`, or failed with `error`), as in GET "
        "/api/v1/cameos/registrations/{registration_id}",
        _object(
            {
                "id": _UUID,
                "state": {"type": "string", "enum": list(CAMEO_REGISTRATION_STATES)},
                "stage": {"type": "string"},
                "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                "error": _nullable(_object({"code": {"type": "string"}, "message": {"type": "string"}})),
                "cameo_id": _nullable(_UUID),
            }
        ),
    ),
    _export("progress", "The export started (0) or one more part of it is in the zip (`percent`)", "running"),
    _export("succeeded", "The zip is made: its download link is in GET /api/v1/me/export/{export_id}"),
    _export("failed", "The export failed (`error_code`); no zip was kept, start another"),
    Event(
        "cameo.event",
        "Something happened to a cameo the member owns or asked to use: a request (to the owner), an "
        "approval, denial or revocation (to the member), a level change, deletion or suspension (to "
        "members with a request or approval; suspension also to the owner), a use in a draft (to the "
        "owner; for cameos open to everyone at most once per window, `data.count` uses)",
        _object(
            {
                "kind": {
                    "type": "string",
                    "enum": [
                        "requested",
                        "approved",
                        "denied",
                        "revoked",
                        "level_changed",
                        "used",
                        "deleted",
                        "suspended",
                    ],
                },
                "cameo_id": _UUID,
                "handle": {"type": "string"},
                "owner_id": _UUID,
                "actor_id": {**_nullable(_UUID), "description": "Who did it; null for a moderator"},
                "recipient_id": _UUID,
                "data": {
                    "type": "object",
                    "description": "approval_id; level and previous; job_id, video_id, prompt, count",
                },
            }
        ),
    ),
    Event(
        "moderation.decision",
        "A statement of reasons: a moderator decided about the member or something they made (as in GET "
        "/api/v1/moderation/decisions/{decision_id}; appeal it there until `appealable_until`)",
        _object(
            {
                **_MODERATION,
                "labels": {"type": "array", "items": {"type": "string"}},
                "appealable_until": _nullable(_TIME),
            }
        ),
    ),
    Event(
        "moderation.report",
        "What was decided about something the member reported (told once per report)",
        _object({**_MODERATION, "report_id": _UUID}),
    ),
    Event(
        "moderation.appeal",
        "The member's appeal was decided by another moderator (told once)",
        _object({**_MODERATION, "appeal_outcome": {"type": "string", "enum": ["upheld", "overturned"]}}),
    ),
)

CLIENT_MESSAGES: dict[str, dict[str, Any]] = {
    "ping": {
        "name": "ping",
        "summary": "Are you there? Answered with `pong`; any other message gets `error`",
        "payload": {
            "type": "object",
            "properties": {"type": {"const": "ping"}},
            "required": ["type"],
        },
    },
}


def _envelope(event: Event) -> dict[str, Any]:
    return _object(
        {
            "type": {"const": event.type},
            "data": event.data,
            "ts": {"type": "string", "format": "date-time", "description": "When it was sent (UTC)"},
        }
    )


def _messages() -> dict[str, dict[str, Any]]:
    server = {
        event.type: {"name": event.type, "summary": event.summary, "payload": _envelope(event)}
        for event in EVENTS
    }
    return {**server, **CLIENT_MESSAGES}


def _refs(names: list[str]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/events/messages/{name}"} for name in names]


CHANNEL_DESCRIPTION = f"""\
One socket per device; every event to the member reaches each of their sockets, as one JSON envelope
`{{"type", "data", "ts"}}`.

The handshake is refused (HTTP 403) without a valid access token of an active member, or with a
browser `Origin` the server does not serve (native apps send none).

Close codes: **{CLOSE_TOKEN_EXPIRED}** the access token expired (after `session.expired`): refresh it
and reconnect; **{CLOSE_ACCOUNT_CLOSED}** the account was deactivated or deleted (after
`session.closed`): do not reconnect."""


def _channel() -> dict[str, Any]:
    token = {"type": "string", "description": "An access token from POST /api/v1/auth/token"}
    return {
        "address": "/ws/",
        "title": "The member's live events",
        "description": CHANNEL_DESCRIPTION,
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in _messages()},
        "bindings": {
            "ws": {
                "method": "GET",
                "query": {"type": "object", "properties": {"token": token}},
                "headers": {
                    "type": "object",
                    "properties": {"Authorization": {"type": "string", "pattern": "^Bearer .+"}},
                },
                "bindingVersion": "0.1.0",
            }
        },
        "x-close-codes": {
            str(CLOSE_TOKEN_EXPIRED): "The access token expired (after session.expired)",
            str(CLOSE_ACCOUNT_CLOSED): "The account was deactivated or deleted (after session.closed)",
        },
    }


def _operations() -> dict[str, Any]:
    channel = {"$ref": "#/channels/events"}
    return {
        "sendEvents": {
            "action": "send",
            "channel": channel,
            "title": "Events to the member",
            "messages": _refs([event.type for event in EVENTS]),
        },
        "receivePing": {
            "action": "receive",
            "channel": channel,
            "title": "Ping",
            "messages": _refs(["ping"]),
            "reply": {"channel": channel, "messages": _refs(["pong"])},
        },
    }


SECURITY_SCHEMES = {
    "accessTokenQuery": {
        "type": "httpApiKey",
        "name": "token",
        "in": "query",
        "description": "`/ws/?token=<access token>` (browsers cannot set headers on a WebSocket)",
    },
    "accessTokenBearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "`Authorization: Bearer <access token>`",
    },
}


def asyncapi_document(base_url: str) -> dict[str, Any]:
    """The document, with its server at `base_url` (the site's http(s) URL)."""
    site = urlsplit(base_url)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Kino live events",
            "version": settings.SPECTACULAR_SETTINGS["VERSION"],
            "description": "The WebSocket next to the REST API (/api/schema/): what Kino tells a "
            "member's devices as it happens. This document describes the server.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "kino": {
                "host": site.netloc,
                "protocol": "wss" if site.scheme == "https" else "ws",
                "security": [{"$ref": f"#/components/securitySchemes/{name}"} for name in SECURITY_SCHEMES],
            }
        },
        "channels": {"events": _channel()},
        "operations": _operations(),
        "components": {
            "schemas": SHARED_SCHEMAS,
            "messages": _messages(),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


@extend_schema(exclude=True)  # served next to the OpenAPI schema, not in it
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def asyncapi_view(request: Request) -> Response:
    return Response(asyncapi_document(site_url(request)))
