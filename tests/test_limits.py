"""Bodies and headers over the limits are refused before they are read."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from django.conf import settings

MIB = 1024 * 1024


def run_asgi(headers: list[tuple[bytes, bytes]], chunks: int, chunk_size: int = MIB) -> tuple[int, dict, int]:
    """POST to the real ASGI app, streaming `chunks` chunks; returns (status, body, bytes it pulled)."""
    from config.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/waitlist",
        "raw_path": b"/api/v1/waitlist",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    pulled = {"bytes": 0, "sent": 0}
    answers: list[dict] = []

    async def receive() -> dict:
        if pulled["sent"] >= chunks:
            await asyncio.sleep(3600)  # a client that never finishes
        pulled["sent"] += 1
        pulled["bytes"] += chunk_size
        return {"type": "http.request", "body": b" " * chunk_size, "more_body": pulled["sent"] < chunks}

    async def send(message: dict) -> None:
        answers.append(message)

    asyncio.run(asyncio.wait_for(application(scope, receive, send), 30))
    status = next(m["status"] for m in answers if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in answers if m["type"] == "http.response.body")
    return status, json.loads(body), pulled["bytes"]


@pytest.mark.django_db(transaction=True)
def test_a_50_mib_chunked_body_gets_413_after_at_most_the_limit_is_read():
    status, body, pulled = run_asgi([(b"transfer-encoding", b"chunked")], chunks=50)
    assert (status, body["error"]["code"]) == (413, "request_too_large")
    assert pulled <= settings.REQUEST_MAX_BYTES + MIB  # the limit, and the one chunk that crossed it


@pytest.mark.django_db(transaction=True)
def test_a_declared_length_over_the_limit_gets_413_before_any_byte_is_read():
    status, body, pulled = run_asgi([(b"content-length", str(50 * MIB).encode())], chunks=50)
    assert (status, body["error"]["code"], pulled) == (413, "request_too_large", 0)


@pytest.mark.slow
def test_the_server_refuses_oversized_headers_and_bodies(live_stack):
    host, port = "127.0.0.1", live_stack.port
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (2 * MIB) + b"\r\n\r\n")
        answer = _read_some(conn)
    assert answer == b"" or answer.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), answer[:100]
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(
            b"POST /api/v1/waitlist HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sent = 0
        try:
            while sent < 50 * MIB:
                conn.sendall(b"100000\r\n" + b" " * MIB + b"\r\n")
                sent += MIB
        except OSError:
            pass  # the server answered and closed: it stopped reading
        answer = _read_some(conn)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"request_too_large"' in answer
    assert sent < 50 * MIB


def _read_some(conn: socket.socket) -> bytes:
    try:
        return conn.recv(65536)
    except OSError:
        return b""
