"""Client events: `POST /api/v1/events`, a batch of what the member saw and did.

A batch is all or nothing: one invalid event refuses the whole batch (400 `invalid_input`, each
problem under `events[<index>].<field>`) and nothing is stored, so a client drops or fixes the named
events and sends the batch again (ids already stored count as duplicates, never twice).

The body is validated by hand, not by DRF serializers: 500 nested serializers take tens of
milliseconds, this a few. `InputSerializer` still describes the body in the schema, and the checks
below keep to it (the same names, lengths, ranges and choices).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import errors as config_errors
from config.api import BODY_ERRORS, StrictSerializer, error_responses, requester_id
from config.errors import FieldErrors, KinoError
from config.parsers import BoundedJSONParser
from feed import errors
from feed.events import WATCH_MS_MAX, EventIn, view_events_ingest
from feed.models import ViewEvent

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_ID = re.compile(ID_PATTERN)
_AT = re.compile(r"(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?", re.ASCII)
_KINDS = frozenset(ViewEvent.Kind.values)
_WATCH_PROGRESS = ViewEvent.Kind.WATCH_PROGRESS.value
_REQUIRED = ("id", "type", "video_id", "at")
_NOT_TEXT = "Not a valid string."


class _Problem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _text(value: Any, max_length: int) -> str:
    if not isinstance(value, str):
        raise _Problem(config_errors.INVALID.code, _NOT_TEXT)
    if not value:
        raise _Problem("blank", "This field may not be blank.")
    if len(value) > max_length:
        raise _Problem("max_length", f"Ensure this field has no more than {max_length} characters.")
    return value


def _event_id(value: Any) -> str:
    if not _ID.fullmatch(_text(value, 64)):
        raise _Problem(config_errors.INVALID.code, "Use 1 to 64 of A-Z, a-z, 0-9, _ and -.")
    return str(value)


def _kind(value: Any) -> str:
    if _text(value, 16) not in _KINDS:
        raise _Problem("invalid_choice", f"One of: {', '.join(sorted(_KINDS))}.")
    return str(value)


def _video_id(value: Any) -> UUID:
    try:
        return UUID(_text(value, 45))
    except ValueError:
        raise _Problem(config_errors.INVALID.code, "Must be a valid UUID.") from None


def _at(value: Any) -> datetime:
    """An RFC 3339 time (what the schema's date-time means; Python's own parser would also take a NUL
    or any letter between its parts). Fractions finer than microseconds are cut."""
    found = _AT.fullmatch(_text(value, 64))
    if found is None:
        raise _Problem(config_errors.INVALID.code, "An RFC 3339 time, e.g. 2025-05-01T12:00:00Z.")
    day_time, fraction, offset = found.groups()
    if offset is None:
        raise _Problem(config_errors.INVALID.code, "Give the time zone (Z or +hh:mm).")
    try:
        at = datetime.fromisoformat(f"{day_time}{(fraction or '')[:7]}{offset.upper()}")
    except ValueError:  # a day or an hour that does not exist, year 0
        raise _Problem(config_errors.INVALID.code, "This time does not exist.") from None
    try:
        return at.astimezone(UTC)
    except OverflowError:  # a year-1 or year-9999 time whose offset crosses the calendar's edge
        return (datetime.min if at.year == 1 else datetime.max).replace(tzinfo=UTC)


def _watch_ms(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Problem(config_errors.INVALID.code, "A valid integer is required.")
    if value < 0:
        raise _Problem("min_value", "Ensure this value is greater than or equal to 0.")
    if value > WATCH_MS_MAX:
        raise _Problem("max_value", f"Ensure this value is less than or equal to {WATCH_MS_MAX}.")
    return value


_FIELDS: dict[str, Callable[[Any], Any]] = {
    "id": _event_id,
    "type": _kind,
    "video_id": _video_id,
    "at": _at,
    "watch_ms": _watch_ms,
}


def _add(problems: FieldErrors, field: str, code: str, message: str) -> None:
    problems.setdefault(field, []).append({"code": code, "message": message})


def _watch_ms_problem(item: dict[str, Any], kind: Any) -> tuple[str, str] | None:
    if kind == _WATCH_PROGRESS and "watch_ms" not in item:
        return "required", "A watch_progress event says how long was watched."
    if kind != _WATCH_PROGRESS and "watch_ms" in item:
        return config_errors.INVALID.code, "Only watch_progress events carry watch_ms."
    return None


def _event(item: Any, index: int, problems: FieldErrors, uuids: dict[Any, UUID]) -> EventIn | None:
    """One event, or None with its problems added under `events[<index>].<field>`. `uuids` remembers
    the video ids already read: a batch names the same few videos many times."""
    if not isinstance(item, dict):
        _add(problems, f"events[{index}]", config_errors.INVALID.code, "Expected an event (an object).")
        return None
    found = len(problems)
    values: dict[str, Any] = {}
    for name, value in item.items():
        try:
            if name == "video_id" and isinstance(value, str) and value in uuids:
                values[name] = uuids[value]
            elif name in _FIELDS:
                values[name] = _FIELDS[name](value)
            else:
                raise _Problem(config_errors.UNKNOWN_FIELD.code, config_errors.UNKNOWN_FIELD.message)
        except _Problem as problem:
            _add(problems, f"events[{index}].{name}", problem.code, problem.message)
    for name in _REQUIRED:
        if name not in item:
            _add(problems, f"events[{index}].{name}", "required", "This field is required.")
    if "type" in values and (watch_problem := _watch_ms_problem(item, values["type"])):
        _add(problems, f"events[{index}].watch_ms", *watch_problem)
    if len(problems) > found:
        return None
    uuids[item["video_id"]] = values["video_id"]
    return EventIn(values["id"], values["type"], values["video_id"], values["at"], values.get("watch_ms", 0))


def _events_problem(data: dict[str, Any]) -> tuple[str, str] | None:
    if "events" not in data:
        return "required", "This field is required."
    if not isinstance(data["events"], list):
        return "not_a_list", "Expected a list of events."
    if not data["events"]:
        return "empty", "Send at least one event."
    return None


def _event_list(data: Any) -> list[Any]:
    """The body's `events`, checked as a whole (the body's shape, the batch's size)."""
    problems: FieldErrors = {}
    if not isinstance(data, dict):
        _add(problems, "non_field_errors", config_errors.INVALID.code, "Expected an object with `events`.")
        raise KinoError(config_errors.INVALID_INPUT, "The request is invalid.", fields=problems)
    for name in sorted(set(data) - {"events"}):
        _add(problems, name, config_errors.UNKNOWN_FIELD.code, config_errors.UNKNOWN_FIELD.message)
    if problem := _events_problem(data):
        _add(problems, "events", *problem)
    if problems:
        raise KinoError(config_errors.INVALID_INPUT, fields=problems)
    events: list[Any] = data["events"]
    if len(events) > settings.FEED_EVENTS_MAX_BATCH:
        raise KinoError(
            errors.EVENTS_BATCH_TOO_LARGE,
            f"A batch holds at most {settings.FEED_EVENTS_MAX_BATCH} events; this one has {len(events)}.",
            field="events",
        )
    return events


def events_parse(data: Any) -> list[EventIn]:
    """The batch, every event valid; otherwise 400 with every problem, each under its event's index."""
    problems: FieldErrors = {}
    uuids: dict[Any, UUID] = {}
    events = [_event(item, index, problems, uuids) for index, item in enumerate(_event_list(data))]
    if problems:
        raise KinoError(
            config_errors.INVALID_INPUT, "Some events are invalid; none was stored.", fields=problems
        )
    return [event for event in events if event is not None]


class EventsIngestApi(APIView):
    parser_classes = [BoundedJSONParser]

    class InputSerializer(StrictSerializer):
        class Event(StrictSerializer):
            id = serializers.RegexField(
                ID_PATTERN,
                max_length=64,
                help_text="The client's own id for this event: sending it again is harmless (a duplicate)",
            )
            type = serializers.ChoiceField(choices=ViewEvent.Kind.choices)
            video_id = serializers.UUIDField()
            at = serializers.DateTimeField(
                help_text="When it happened: RFC 3339 with seconds and a zone (Z or +hh:mm). A time ahead "
                "of the server's clock counts as now; one older than the retention is ignored"
            )
            watch_ms = serializers.IntegerField(
                min_value=0,
                max_value=WATCH_MS_MAX,
                required=False,
                help_text="Milliseconds watched since the previous watch_progress event of this video: "
                "required on watch_progress events, refused on others",
            )

        events = serializers.ListField(child=Event(), min_length=1, max_length=settings.FEED_EVENTS_MAX_BATCH)

    class OutputSerializer(serializers.Serializer):
        accepted = serializers.IntegerField(help_text="Events stored now")
        duplicates = serializers.IntegerField(
            help_text="Events whose id was stored before or appears earlier in the batch: not stored again"
        )
        ignored = serializers.IntegerField(
            help_text="Events about a video you may not see, or older than the retention: not stored "
            "(do not send them again)"
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(BODY_ERRORS, errors.EVENTS_BATCH_TOO_LARGE),
        },
        summary="Report a batch of 1 to 500 events: impressions, views, watch time, likes, skips, "
        "shares, 'see less'",
    )
    def post(self, request: Request) -> Response:
        receipt = view_events_ingest(user_id=requester_id(request), events=events_parse(request.data))
        return Response(self.OutputSerializer(receipt).data)


urlpatterns = [
    path("events", EventsIngestApi.as_view(), name="events"),
]
