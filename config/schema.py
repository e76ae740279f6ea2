"""How drf-spectacular describes Kino's API: names, strict bodies, security, no docstrings.

- Names for HackSoft-style APIs, where every view nests its own InputSerializer/OutputSerializer.
- Input serializers that refuse unknown fields (`StrictSerializer`) say so: `additionalProperties:
  false`, so a client generated from the schema never sends a field the server refuses.
- Docstrings are written for Kino's engineers, not for clients: they never become descriptions
  (operations say what they do in `summary=`, fields in `help_text=`).
- An operation names the authentication it takes once; a public one (no authenticators) names none.
"""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from rest_framework import serializers

from config.api import StrictSerializer
from config.openapi import component_name

STRICT_BODY = "Fields not listed here are refused (400 `unknown_field`)."


class KinoAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: Literal["request", "response"]) -> str:
        if "." not in serializer.__class__.__qualname__:
            return super().get_serializer_name(serializer, direction)
        return component_name(serializer.__class__)

    def get_operation_id(self) -> str:
        # A list view answers a page object, not an array: drf-spectacular would call it "retrieve".
        operation_id = super().get_operation_id()
        responses = self.get_response_serializers()
        page = responses.get(200) if isinstance(responses, dict) else None
        if self.method == "GET" and getattr(page, "cursor_page", False):
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def get_description(self) -> str:  # type: ignore[override]
        # extend_schema(description=...) still applies: it overrides this method.
        return ""

    def _map_serializer(self, serializer: Any, direction: Any, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        schema.pop("description", None)  # a serializer's docstring (or its base class's)
        if direction == "request" and isinstance(force_instance(serializer), StrictSerializer):
            schema["additionalProperties"] = False
            schema["description"] = STRICT_BODY
        return schema

    def map_parsers(self) -> list[Any]:
        # A body is documented in one media type, so generated clients get one model per body:
        # multipart where it carries a file, JSON otherwise (the server parses both regardless).
        media_types = super().map_parsers()
        serializer = force_instance(self.get_request_serializer())
        fields = getattr(serializer, "fields", {}).values()
        takes_files = any(isinstance(field, serializers.FileField) for field in fields)
        chosen = [m for m in media_types if m.startswith("multipart/") == takes_files]
        return chosen or media_types

    def get_auth(self) -> list[dict[str, Any]]:
        requirements: list[dict[str, Any]] = []
        for requirement in super().get_auth():
            if requirement not in requirements:
                requirements.append(requirement)
        # [{}] alone means "no authentication": say nothing rather than list an empty alternative.
        return [] if requirements == [{}] else requirements


class KinoJWTScheme(SimpleJWTScheme):
    """Kino's JWT authentication (accounts.authentication) is simplejwt's: the same `jwtAuth` scheme."""

    target_class = "accounts.authentication.JWTAuthentication"
