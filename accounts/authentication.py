"""The API's JWT authentication: simplejwt's, with one hole closed."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken


class JWTAuthentication(SimpleJWTAuthentication):
    """A token whose signature holds but whose user id is not an id (not a UUID) is a dead token,
    a 401, not a crash in the user lookup."""

    def get_user(self, validated_token: Any) -> Any:
        try:
            return super().get_user(validated_token)
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            raise InvalidToken("The token names no member.") from None
