"""What the ASGI app refuses before Django reads a byte of the body, and what never reaches a log.

- `BodyLimit`: a body over REQUEST_MAX_BYTES (the largest Kino accepts) gets 413 in the error shape:
  at once when Content-Length says so; a chunked stream is cut as soon as it passes the limit, so
  at most the limit is ever read. Header size is capped by the server (h11's incomplete-event
  size, set by `config.run.server_command`).
- `AccessLogScrubber`: the access log keeps paths, never query strings (a WebSocket token may be
  sent as `?token=`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from config.errors import REQUEST_TOO_LARGE, error_body

Scope = dict[str, Any]


def _too_large_response(limit: int) -> list[dict[str, Any]]:
    body = json.dumps(
        error_body(REQUEST_TOO_LARGE.code, f"The request body must be at most {limit} bytes.")
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is never read: the connection ends
    ]
    return [
        {"type": "http.response.start", "status": REQUEST_TOO_LARGE.status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else -1
    return None


class BodyLimit:
    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _declared_length(scope)
        if declared is not None and not 0 <= declared <= self.limit:
            for message in _too_large_response(self.limit):
                await send(message)
            return None
        state = {"read": 0, "refused": False}

        async def receive_bounded() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request" and not state["refused"]:
                state["read"] += len(message.get("body", b""))
                if state["read"] > self.limit:
                    state["refused"] = True
                    for answer in _too_large_response(self.limit):
                        await send(answer)
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def send_unless_refused(message: dict[str, Any]) -> None:
            if not state["refused"]:
                await send(message)

        return await self.app(scope, receive_bounded, send_unless_refused)


class AccessLogScrubber(logging.Filter):
    """uvicorn logs each request's path with its query string (the access log, and the WebSocket
    handshake on its error log): keep the path, drop the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_path_only(arg) for arg in record.args)
        return True


def _path_only(arg: Any) -> Any:
    return arg.split("?", 1)[0] if isinstance(arg, str) and arg.startswith("/") else arg


def access_log_scrub() -> None:
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, AccessLogScrubber) for f in logger.filters):
            logger.addFilter(AccessLogScrubber())
