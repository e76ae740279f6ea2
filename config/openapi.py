"""Cursor pages in the OpenAPI schema.

List views are plain APIViews that page by hand with `config.api.CursorPage`, so drf-spectacular
never sees the paginator: each list view declares its page with these instead,

    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: page_of(JobSerializer), ...})
"""

from __future__ import annotations

from functools import cache
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from config.api import CursorPage


def component_name(serializer_class: type[serializers.BaseSerializer]) -> str:
    """The schema's name for a serializer: "SignupApi.OutputSerializer" -> "SignupOutput",
    "JobSerializer" -> "Job" (HackSoft-style views nest their own serializers)."""
    qualname = serializer_class.__qualname__
    if "." in qualname:
        return qualname.replace("Api.", "").replace("Serializer", "").replace(".", "")
    return qualname.removesuffix("Serializer")


@cache
def page_of(item: type[serializers.BaseSerializer], name: str = "") -> type[serializers.Serializer]:
    """The serializer of one cursor page of `item`s: {next, previous, results}, named `<Item>Page`
    (or `name`). The same class comes back for the same arguments, so views share one component."""
    name = name or f"{component_name(item)}Page"
    link = "The URL of the {} page (it carries the `cursor`), or null at that end of the list"
    fields: dict[str, Any] = {
        "next": serializers.URLField(allow_null=True, help_text=link.format("next")),
        "previous": serializers.URLField(allow_null=True, help_text=link.format("previous")),
        "results": item(many=True, help_text="Newest first"),
        "__module__": __name__,
        "cursor_page": True,  # KinoAutoSchema names the operation "..._list"
        "__qualname__": name,
    }
    return type(name, (serializers.Serializer,), fields)


PAGE_PARAMETERS = [
    OpenApiParameter(
        "cursor",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="Opaque position in the list: take it from a page's `next` or `previous` link, "
        "never build one (a bad cursor is a 400 `invalid_cursor`)",
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": CursorPage.max_page_size},
        OpenApiParameter.QUERY,
        description=f"Rows per page, 1 to {CursorPage.max_page_size} (default {CursorPage.page_size})",
    ),
]
