"""The API's own OpenAPI schema, read once at collection time so tests can be parametrized from it.

The schema view reads no database. It is fetched through the whole Django stack, as a client would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
# The operations anyone may call without a token (every other one answers 401 to them).
PUBLIC = {
    ("post", "/api/v1/waitlist"),
    ("get", "/api/v1/invites/{code}"),
    ("post", "/api/v1/auth/signup"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/token/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/moderation/appeals"),  # a banned member's appeal, with the code their email carries
    ("post", "/api/v1/moderation/estate-requests"),  # a deceased person's estate asks for a block
    ("post", "/api/v1/provenance/lookup"),  # was this clip made in Kino? anyone may ask
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))

    def url(self, values: dict[str, str]) -> str:
        return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], self.path)


@cache
def schema() -> dict[str, Any]:
    # pytest-django has set Django up before collection.
    from django.test import Client
    from django.test.utils import override_settings

    # pytest-django adds "testserver" to ALLOWED_HOSTS only once tests run, after collection.
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def operations() -> list[Operation]:
    return [
        Operation(method, path, spec)
        for path, item in schema()["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema()["components"]["schemas"][name]
    return node


def returns_a_page(operation: Operation) -> bool:
    """A GET whose 200 is a cursor page (an object with `results`), or a bare array should a list
    ever be declared without its page (tests/test_api_fuzz.py's conformance checks would fail it)."""
    if operation.method != "get":
        return False
    body = operation.spec.get("responses", {}).get("200", {}).get("content", {})
    shape = _resolve(body.get("application/json", {}).get("schema", {}))
    return shape.get("type") == "array" or "results" in shape.get("properties", {})
