"""What every Kino API shares: one error shape, strict input, cursor pages.

Every error the API returns reads
    {"error": {"code": "<stable_code>", "message": "<for people>", "fields": {...}}}
where `fields` maps an input field to a list of {"code", "message"}.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from psycopg_pool import PoolTimeout
from rest_framework import exceptions, serializers
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from config import errors
from config.errors import ErrorCode, KinoError, error_body

# Codes for DRF's own exceptions, so clients never see DRF's vocabulary change under them.
_DRF_CODES: list[tuple[type[exceptions.APIException], ErrorCode]] = [
    (exceptions.ParseError, errors.MALFORMED_REQUEST),
    (exceptions.NotAuthenticated, errors.NOT_AUTHENTICATED),
    (exceptions.AuthenticationFailed, errors.AUTHENTICATION_FAILED),
    (exceptions.PermissionDenied, errors.PERMISSION_DENIED),
    (exceptions.NotFound, errors.NOT_FOUND),
    (exceptions.MethodNotAllowed, errors.METHOD_NOT_ALLOWED),
    (exceptions.NotAcceptable, errors.NOT_ACCEPTABLE),
    (exceptions.UnsupportedMediaType, errors.UNSUPPORTED_MEDIA_TYPE),
    (exceptions.Throttled, errors.RATE_LIMITED),
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
    return [{"code": errors.INVALID.code, "message": str(detail)}]


def _shape(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, KinoError):
        return error_body(exc.code, str(exc.detail), exc.fields)
    if isinstance(exc, InvalidToken):
        return error_body(errors.TOKEN_NOT_VALID.code, errors.TOKEN_NOT_VALID.message)
    if isinstance(exc, exceptions.ValidationError):
        details = exc.get_full_details()
        if isinstance(details, list):  # a serializer-level error with no field
            return error_body(
                errors.INVALID_INPUT.code,
                "The request is invalid.",
                {"non_field_errors": _field_errors(details)},
            )
        return error_body(errors.INVALID_INPUT.code, errors.INVALID_INPUT.message, _field_errors(details))
    for cls, error in _DRF_CODES:
        if isinstance(exc, cls):
            return error_body(error.code, str(exc.detail))
    return error_body(str(exc.default_code), str(exc.detail))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, TokenError):
        exc = InvalidToken()
    elif isinstance(exc, OperationalError) and isinstance(exc.__cause__, PoolTimeout):
        # Every pooled connection stayed busy for the pool's timeout: overload, not a fault. A 503 the
        # client may retry, not a 500 (seen at tier M: 1 of 500 first pages at 20 clients on 2 cores).
        exc = KinoError(errors.SERVER_BUSY)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    response.data = _shape(exc)
    return response


# --- the error answers in the OpenAPI schema ---------------------------------------------------


class _FieldError(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class _ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="Stable and machine-readable; each operation lists its codes")
    message = serializers.CharField(help_text="For people")
    # DRF's metaclass takes declared fields off the class, so this does not hide Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=_FieldError()),
        help_text="Per input field, the problems with it",
    )


class ErrorSerializer(serializers.Serializer):
    error = _ErrorDetail()


AUTH_ERRORS = (errors.NOT_AUTHENTICATED, errors.TOKEN_NOT_VALID)
BODY_ERRORS = (
    errors.INVALID_INPUT,
    errors.UNKNOWN_FIELD,
    errors.MALFORMED_REQUEST,
    errors.REQUEST_TOO_LARGE,
    errors.UNSUPPORTED_MEDIA_TYPE,
)
PAGE_ERRORS = (errors.INVALID_CURSOR,)
IMAGE_ERRORS = (
    errors.IMAGE_TOO_LARGE,
    errors.IMAGE_TOO_MANY_PIXELS,
    errors.IMAGE_TYPE_UNSUPPORTED,
    errors.IMAGE_INVALID,
)


def error_responses(*codes: ErrorCode | tuple[ErrorCode, ...], public: bool = False) -> dict[int, Any]:
    """The schema's error answers of one operation: per status, the error body and its codes.

    Authenticated operations (all but `public=True`) also answer 401 `not_authenticated`
    and `token_not_valid`. Pass the tuples above for body and page errors.
    """
    flat: list[ErrorCode] = []
    for item in (*codes, *(() if public else (AUTH_ERRORS,))):
        flat.extend(item if isinstance(item, tuple) else (item,))
    by_status: dict[int, list[ErrorCode]] = {}
    for error in flat:
        if error not in by_status.setdefault(error.status, []):
            by_status[error.status].append(error)
    return {
        status: OpenApiResponse(
            response=ErrorSerializer,
            description="; ".join(f"`{error.code}`: {error.message}" for error in listed),
        )
        for status, listed in sorted(by_status.items())
    }


class StrictSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know, instead of dropping them silently,
    and values of the wrong JSON type (DRF's CharField would store `0` as "0", its UUIDField would read
    `5` as a UUID, its BooleanField `"yes"` or `1` as true). `fields` always maps a name to a list of
    {"code", "message"}: errors of a list's plain items are reported under the list's own name, those
    of an object in a list under its path (`shots[0].prompt`)."""

    TEXT_FIELDS = (serializers.CharField, serializers.UUIDField)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            message, code = errors.UNKNOWN_FIELD.message, errors.UNKNOWN_FIELD.code
            raise serializers.ValidationError(
                {name: [serializers.ErrorDetail(message, code=code)] for name in unknown}
            )
        wrong_type = {
            name: [serializers.ErrorDetail(self._type_expected(field), code=errors.INVALID.code)]
            for name, field in self.fields.items()
            if name in data and not field.read_only and not self._text_typed(field, data[name])
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**exc.detail, **wrong_type}) from None  # type: ignore[dict-item]
        if wrong_type:
            raise serializers.ValidationError(wrong_type)
        return value

    @classmethod
    def _text_typed(cls, field: serializers.Field, value: Any) -> bool:
        """False for a value of a text field (or a list of them) that is not text, or of a boolean
        field that is not JSON true or false (None is the field's own business: allow_null)."""
        if isinstance(field, serializers.ListField) and isinstance(value, list):
            return all(cls._text_typed(field.child, item) for item in value)
        if value is None:
            return True
        if isinstance(field, serializers.BooleanField):
            return isinstance(value, bool)
        return not isinstance(field, cls.TEXT_FIELDS) or isinstance(value, str)

    @staticmethod
    def _type_expected(field: serializers.Field) -> str:
        return (
            "Must be true or false." if isinstance(field, serializers.BooleanField) else "Not a valid string."
        )

    def run_validation(self, data: Any = serializers.empty) -> Any:
        try:
            return super().run_validation(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, Mapping):
                raise
            flat: dict[str, list[Any]] = {}
            for name, problems in exc.detail.items():
                for path, leaf in self._leaves(str(name), problems):
                    flat.setdefault(path, []).append(leaf)
            raise serializers.ValidationError(flat) from None

    @classmethod
    def _leaves(cls, path: str, detail: Any) -> list[tuple[str, Any]]:
        """Every error under one input, however deep, with the path it belongs to: a list's item errors
        come as {index: [...]} (a plain item: the list's own) or, for objects, {index: {field: [...]}}
        and [{field: [...]}, ...] (that object's field)."""
        if isinstance(detail, list):
            return [
                found
                for index, value in enumerate(detail)
                for found in cls._leaves(f"{path}[{index}]" if isinstance(value, Mapping) else path, value)
            ]
        if not isinstance(detail, Mapping):
            return [(path, detail)]
        found: list[tuple[str, Any]] = []
        for key, value in detail.items():
            if str(key).isdigit():  # an item of a list
                found += cls._leaves(f"{path}[{key}]" if isinstance(value, Mapping) else path, value)
            elif key == api_settings.NON_FIELD_ERRORS_KEY:  # the list's or object's own problem
                found += cls._leaves(path, value)
            else:  # a field of an object
                found += cls._leaves(f"{path}.{key}", value)
        return found


class CursorPage(CursorPagination):
    page_size = 20
    max_page_size = 100
    page_size_query_param = "limit"
    ordering = ("-created_at", "-id")

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        self.position_field = queryset.model._meta.get_field(self.ordering[0].lstrip("-"))
        return super().paginate_queryset(queryset, request, view)

    def encode_cursor(self, cursor: Cursor) -> str:
        """DRF marks the next page after a first page whose rows all share one position (any first page
        of one row) by an offset from the top of the list, so rows that arrive before the next fetch
        would bring the page's rows back. Mark it instead by a position a hair before the page's own:
        the rows from that position on, less this page."""
        if cursor.position is None and cursor.offset and not cursor.reverse and self.page:
            position: Any = self._position_before(self.page[0])  # a string, as DRF keeps them (stubs: int)
            cursor = Cursor(offset=cursor.offset, reverse=False, position=position)
        return super().encode_cursor(cursor)

    def _position_before(self, item: Any) -> str | None:
        order = self.ordering[0]
        value = getattr(item, order.lstrip("-"))
        step: Any = timedelta(microseconds=1) if isinstance(value, datetime) else 1
        if not isinstance(value, datetime | int):
            return None  # DRF's offset, for orderings with no smallest step
        return str(value + step if order.startswith("-") else value - step)

    def decode_cursor(self, request: Any) -> Any:
        """Refused as `invalid_cursor`: a cursor that does not decode, and one that decodes to a position
        its ordering field cannot take (made by hand), which would otherwise fail in the database."""
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise KinoError(errors.INVALID_CURSOR) from exc
        if cursor is not None and cursor.position is not None:
            try:
                self.position_field.get_prep_value(self.position_field.to_python(cursor.position))
            except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
                raise KinoError(errors.INVALID_CURSOR) from exc
        return cursor


def page_response(
    view: Any,
    request: Any,
    rows: Any,
    serializer: type[serializers.BaseSerializer],
    *,
    paginator: CursorPage | None = None,
    prepare: Callable[[list[Any]], list[Any]] | None = None,
    context: dict[str, Any] | None = None,
) -> Response:
    """One cursor page of `rows`, serialized: what every list endpoint answers. `prepare` turns the
    page's rows into what the serializer reads (attach batched data, wrap them in nodes)."""
    paginator = paginator or CursorPage()
    page = list(paginator.paginate_queryset(rows, request, view=view) or [])
    items = prepare(page) if prepare is not None else page
    data = serializer(items, many=True, context=context or {"request": request}).data
    return paginator.get_paginated_response(data)


def requester_id(request: Any) -> UUID:
    """The authenticated member's id (the default permission, IsAuthenticated, has made sure of one)."""
    assert request.user.id is not None
    return request.user.id


_DATETIME = serializers.DateTimeField()  # one for every card: writing a value keeps no state in it


def iso(moment: datetime | None) -> str | None:
    """A time as DRF's DateTimeField writes it (for cards built by hand)."""
    return _DATETIME.to_representation(moment) if moment is not None else None


# --- Django-level handlers: errors raised outside DRF views (404 routes, bad Host, 500) ---


def site_url(request: HttpRequest) -> str:
    """Where links should point: SITE_URL in production; in development the host the client used
    (a phone on the LAN gets links it can open, not 127.0.0.1)."""
    if settings.PRODUCTION:
        return str(settings.SITE_URL)
    # Worked out once per request: a page of cards writes three links per card.
    raw = getattr(request, "_request", request)  # a DRF Request wraps Django's
    url: str | None = getattr(raw, "_kino_site_url", None)
    if url is None:
        url = raw.build_absolute_uri("/").rstrip("/")
        setattr(raw, "_kino_site_url", url)  # noqa: B010  (HttpRequest declares no such attribute)
    return url


def error_response(error: ErrorCode, message: str | None = None) -> JsonResponse:
    """The error shape for plain Django views (outside DRF's exception handler)."""
    return JsonResponse(error_body(error.code, message or error.message), status=error.status)


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/healthz", "/ws"))


def _django_handler(error: ErrorCode, template_handler: Any) -> Any:
    def handler(request: HttpRequest, exception: Exception | None = None) -> Any:
        if wants_json(request):
            return error_response(error)
        if exception is None:
            return template_handler(request)
        return template_handler(request, exception)

    return handler


@csrf_exempt  # it changes nothing; without this, a POST to a wrong path would get CSRF's HTML page
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return error_response(errors.NOT_FOUND, "No such endpoint.")


def csrf_failure(request: HttpRequest, reason: str = "") -> Any:
    if wants_json(request):
        return error_response(errors.CSRF_FAILED)
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)


def _defaults() -> dict[str, Any]:
    from django.views import defaults

    return {
        "handler400": _django_handler(errors.BAD_REQUEST, defaults.bad_request),
        "handler403": _django_handler(errors.PERMISSION_DENIED, defaults.permission_denied),
        "handler404": _django_handler(errors.NOT_FOUND, defaults.page_not_found),
        "handler500": _django_handler(errors.SERVER_ERROR, defaults.server_error),
    }


HANDLERS = _defaults()
