"""What every Kino API shares: one error shape, strict input, cursor pages.

Every error the API returns reads
    {"error": {"code": "<stable_code>", "message": "<for people>", "fields": {...}}}
where `fields` maps an input field to a list of {"code", "message"}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from config.errors import KinoError, error_body

# Codes for DRF's own exceptions, so clients never see DRF's vocabulary change under them.
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ParseError, "malformed_request"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "rate_limited"),
]


def _field_errors(detail: Any) -> Any:
    """DRF's full details ({"message", "code"} leaves) as lists of {"code", "message"}."""
    if isinstance(detail, Mapping) and set(detail) == {"message", "code"}:
        return [{"code": detail["code"], "message": str(detail["message"])}]
    if isinstance(detail, Mapping):
        return {str(key): _field_errors(value) for key, value in detail.items()}
    if isinstance(detail, list):
        flat: list[Any] = []
        for item in detail:
            converted = _field_errors(item)
            flat.extend(converted if isinstance(converted, list) else [converted])
        return flat
    return [{"code": "invalid", "message": str(detail)}]


def _shape(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, KinoError):
        return error_body(exc.code, str(exc.detail), exc.fields)
    if isinstance(exc, InvalidToken):
        return error_body("token_not_valid", "The token is invalid or expired.")
    if isinstance(exc, exceptions.ValidationError):
        details = exc.get_full_details()
        if isinstance(details, list):  # a serializer-level error with no field
            return error_body(
                "invalid_input", "The request is invalid.", {"non_field_errors": _field_errors(details)}
            )
        return error_body("invalid_input", "Some fields are invalid.", _field_errors(details))
    for cls, code in _DRF_CODES:
        if isinstance(exc, cls):
            return error_body(code, str(exc.detail))
    return error_body(str(exc.default_code), str(exc.detail))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, TokenError):
        exc = InvalidToken()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    response.data = _shape(exc)
    return response


# The documented error answers every authenticated endpoint can give (schema only).
ERROR_RESPONSES = {
    400: OpenApiResponse(description="Invalid input: {error: {code, message, fields}}"),
    401: OpenApiResponse(description="Not authenticated"),
    404: OpenApiResponse(description="Not found"),
}


class StrictSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know, instead of dropping them silently."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


class CursorPage(CursorPagination):
    page_size = 20
    max_page_size = 100
    page_size_query_param = "limit"
    ordering = ("-created_at", "-id")

    def decode_cursor(self, request: Any) -> Any:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise KinoError("The cursor is invalid.", code="invalid_cursor") from exc


# --- Django-level handlers: errors raised outside DRF views (404 routes, bad Host, 500) ---


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/healthz", "/ws"))


def _django_handler(code: str, message: str, status_code: int, template_handler: Any) -> Any:
    def handler(request: HttpRequest, exception: Exception | None = None) -> Any:
        if _wants_json(request):
            return JsonResponse(error_body(code, message), status=status_code)
        if exception is None:
            return template_handler(request)
        return template_handler(request, exception)

    return handler


@csrf_exempt  # it changes nothing; without this, a POST to a wrong path would get CSRF's HTML page
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return JsonResponse(error_body("not_found", "No such endpoint."), status=404)


def csrf_failure(request: HttpRequest, reason: str = "") -> Any:
    if _wants_json(request):
        return JsonResponse(error_body("csrf_failed", "CSRF verification failed."), status=403)
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)


def _defaults() -> dict[str, Any]:
    from django.views import defaults

    return {
        "handler400": _django_handler("bad_request", "The request is malformed.", 400, defaults.bad_request),
        "handler403": _django_handler("permission_denied", "Forbidden.", 403, defaults.permission_denied),
        "handler404": _django_handler("not_found", "Not found.", 404, defaults.page_not_found),
        "handler500": _django_handler(
            "server_error", "Something went wrong on our side.", 500, defaults.server_error
        ),
    }


HANDLERS = _defaults()
