"""OpenAPI naming for HackSoft-style APIs, where every view nests its own InputSerializer/OutputSerializer."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema


class KinoAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: Literal["request", "response"]) -> str:
        # "SignupApi.OutputSerializer" -> "SignupOutput"; top-level serializers keep their name.
        qualname = serializer.__class__.__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        return qualname.replace("Api.", "").replace("Serializer", "").replace(".", "")
