"""The OpenAPI schema says what the server does: cursor pages, strict bodies, one security
requirement, no engineers' docstrings; and text fields refuse what is not text."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from config import api as config_api
from tests.openapi import Operation, operations, schema
from tests.test_schema_errors import PUBLIC_PATHS

pytestmark = pytest.mark.django_db

LISTS = {
    "/api/v1/generations",
    "/api/v1/me/drafts",
    "/api/v1/videos/{video_id}/ancestors",
    "/api/v1/videos/{video_id}/remixes",
    "/api/v1/me/invites",
    "/api/v1/me/mutuals",
    "/api/v1/me/blocks",
    "/api/v1/users/{username}/followers",
    "/api/v1/users/{username}/following",
    "/api/v1/users/{username}/posts",
    "/api/v1/users/{username}/remixes",
    "/api/v1/users/{username}/cameos",
    "/api/v1/videos/{video_id}/likes",
    "/api/v1/videos/{video_id}/comments",
    "/api/v1/comments/{comment_id}/replies",
    "/api/v1/notifications",
    "/api/v1/notifications/{group_id}/actors",
    "/api/v1/moderation/decisions",
    "/api/v1/cameos/{cameo_id}/videos",  # a cameo owner's oversight
    "/api/v1/cameos/registrations",  # my cameo registrations
    "/api/v1/cameos",  # cameos' permissions and use
    "/api/v1/cameos/usable",
    "/api/v1/cameos/requests/mine",
    "/api/v1/cameos/{cameo_id}/requests",
    "/api/v1/cameos/{cameo_id}/uses",
    "/api/v1/guardianships",  # my guardian links (recommender)
    "/api/v1/feed",  # For You (recommender): pages of a ranked session
    "/api/v1/feed/following",
    "/api/v1/search/people",  # search (recommender): one kind's pages each
    "/api/v1/search/cameos",
    "/api/v1/search/posts",
}


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema()["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def ok_body(operation: Operation) -> dict[str, Any]:
    return resolve(operation.spec["responses"]["200"]["content"]["application/json"]["schema"])


def list_operations() -> list[Operation]:
    return [op for op in operations() if op.method == "get" and "results" in ok_body_or_empty(op)]


def ok_body_or_empty(operation: Operation) -> dict[str, Any]:
    try:
        return ok_body(operation).get("properties", {})
    except KeyError:
        return {}


def test_the_lists_are_the_cursor_pages_and_nothing_answers_a_bare_array():
    assert {op.path for op in list_operations()} == LISTS
    for op in operations():
        if "200" in op.spec["responses"] and op.method == "get":
            assert ok_body(op).get("type") == "object", op.id


@pytest.mark.parametrize("operation", list_operations(), ids=lambda op: op.id)
def test_a_list_declares_its_page_and_its_cursor_and_limit(operation: Operation):
    page = ok_body(operation)
    assert set(page["required"]) == set(page["properties"]) == {"next", "previous", "results"}
    for link in ("next", "previous"):
        assert page["properties"][link] | {"description": ""} == {
            "type": "string",
            "format": "uri",
            "nullable": True,
            "description": "",
        }
    assert page["properties"]["results"]["type"] == "array"
    assert operation.spec["operationId"].endswith("_list")
    params = {p["name"]: p for p in operation.spec["parameters"] if p["in"] == "query"}
    assert params["cursor"]["schema"] == {"type": "string"}
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert "invalid_cursor" in operation.spec["responses"]["400"]["description"]


def request_bodies() -> list[tuple[Operation, str, dict[str, Any]]]:
    return [
        (op, media_type, resolve(content["schema"]))
        for op in operations()
        for media_type, content in op.spec.get("requestBody", {}).get("content", {}).items()
    ]


@pytest.mark.parametrize(
    ("operation", "media_type", "body"), request_bodies(), ids=lambda x: getattr(x, "id", None)
)
def test_every_body_refuses_unknown_fields_in_the_schema_as_the_server_does(operation, media_type, body):
    assert body["additionalProperties"] is False, (operation.id, media_type)
    assert body["description"] == "Fields not listed here are refused (400 `unknown_field`)."


def test_a_body_is_json_unless_it_carries_a_file():
    for operation, media_type, body in request_bodies():
        has_file = any(prop.get("format") == "binary" for prop in body["properties"].values())
        if has_file:
            assert media_type == "multipart/form-data", operation.id
        elif operation.id != "POST /api/v1/generations":  # JSON, or multipart with a start image
            assert media_type == "application/json", operation.id


def descriptions(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["description"]] if isinstance(node.get("description"), str) else []
        return found + [text for value in node.values() for text in descriptions(value)]
    if isinstance(node, list):
        return [text for value in node for text in descriptions(value)]
    return []


def docstrings() -> set[str]:
    """The first line of every docstring of a class the API's modules define (nested ones too)."""
    import importlib
    import pkgutil

    import accounts.apis
    import config.schema
    import feed.apis
    import generation.apis
    import moderation.apis

    feed_modules = [
        importlib.import_module(f"feed.apis.{info.name}") for info in pkgutil.iter_modules(feed.apis.__path__)
    ]
    found: set[str] = set()
    for module in (accounts.apis, generation.apis, moderation.apis, *feed_modules, config_api, config.schema):
        pending: list[Any] = [module]
        while pending:
            for value in vars(pending.pop()).values():
                if inspect.isclass(value) and value.__module__ == module.__name__:
                    pending.append(value)
                    if value.__doc__:
                        found.add(inspect.cleandoc(value.__doc__).splitlines()[0][:60])
    return found


def test_no_docstring_becomes_a_description():
    internal = docstrings()
    assert any("refuses fields it does not know" in doc for doc in internal)  # the sweep sees them
    leaked = {doc for doc in internal for text in descriptions(schema()) if doc in text}
    assert not leaked


def test_each_operation_names_its_security_once_and_public_ones_none():
    for operation in operations():
        if operation.path in PUBLIC_PATHS:
            assert "security" not in operation.spec, operation.id
        else:
            assert operation.spec["security"] == [{"jwtAuth": []}], operation.id
    assert schema()["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"


def text_properties(body: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(name, a non-text value in the right container, the field its error comes under) for each
    string or list-of-strings field, and each such field of the objects in a list (`events[0].id`)."""
    found: list[tuple[str, Any, str]] = []
    for name, prop in body["properties"].items():
        if prop.get("type") == "string" and prop.get("format") != "binary":
            found += [(name, 0, name), (name, True, name), (name, ["text"], name)]
        elif prop.get("type") == "array" and prop["items"].get("type") == "string":
            found += [(name, [0], name), (name, [False], name)]
        elif prop.get("type") == "array" and "properties" in resolve(prop["items"]):
            for item_name, value, field in text_properties(resolve(prop["items"])):
                found.append((name, [{item_name: value}], f"{name}[0].{field}"))
    return found


JSON_TEXT_CASES = [
    pytest.param(op, name, value, field, id=f"{op.id} {name}={value!r}")
    for op, media_type, body in request_bodies()
    if media_type == "application/json"
    for name, value, field in text_properties(body)
]


# JSON bodies with no text field at all, each with what it holds instead.
NO_TEXT_BODIES = {
    "PUT /api/v1/guardianships/{guardianship_id}/switches": "two booleans",
}


def test_the_text_cases_cover_every_json_body():
    assert {param.values[0].id for param in JSON_TEXT_CASES} | set(NO_TEXT_BODIES) == {
        op.id for op, media_type, _ in request_bodies() if media_type == "application/json"
    }


@pytest.mark.parametrize(("operation", "name", "value", "field"), JSON_TEXT_CASES)
def test_a_text_field_refuses_what_is_not_text(
    auth_client, operation: Operation, name: str, value: Any, field: str
):
    from tests.factories import UserFactory
    from tests.test_access import BUILDERS, MORE_BUILDERS

    # An operation on an object is called on a real one (a post, where a video is named), by a member
    # who may act on it, so only the body can be refused.
    url, member = operation.path, UserFactory()
    if operation.path_params:
        hidden = (MORE_BUILDERS.get(operation.path_params) or BUILDERS[operation.path_params])()
        url, member = operation.url(hidden.path_values), hidden.allowed
    response = getattr(auth_client(member), operation.method)(url, {name: value}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert "invalid" in {problem["code"] for problem in response.json()["error"]["fields"][field]}


def test_patch_me_with_a_number_for_bio_is_refused_and_stores_nothing(auth_client):
    from tests.factories import UserFactory

    client = auth_client(UserFactory())
    before = client.get("/api/v1/me").json()["bio"]
    response = client.patch("/api/v1/me", {"bio": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["bio"] == [
        {"code": "invalid", "message": "Not a valid string."}
    ]
    assert client.get("/api/v1/me").json()["bio"] == before != "0"


def test_errors_of_list_items_come_under_the_lists_name(auth_client):
    from tests.factories import UserFactory

    response = auth_client(UserFactory()).post(
        "/api/v1/generations", {"prompt": "a cat", "duration_s": 4, "cameos": ["x" * 31]}, format="json"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert [problem["code"] for problem in fields["cameos"]] == ["max_length"]


def test_every_throttled_operation_declares_429():
    from django.urls import resolve

    from tests.test_access import concrete

    throttled = []
    for operation in operations():
        view = resolve(concrete(operation.path)).func.view_class
        if view.throttle_classes:
            throttled.append(operation.id)
            assert "`rate_limited`" in operation.spec["responses"]["429"]["description"], operation.id
    # waitlist, invite check, signup, login, reports, appeals by code, estates, a cameo owner's reports,
    # provenance lookups, previews of a prompt's enhancement
    assert len(throttled) == 10
