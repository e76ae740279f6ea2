"""The API's JWT authentication: simplejwt's, with one hole closed."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken


class JWTAuthentication(SimpleJWTAuthentication):
    """Every dead token is the same 401 `token_not_valid`: one whose member is gone, deactivated, or
    named by something that is not an id (not a UUID: a 401, not a crash in the user lookup). The
    answer never tells which, so a token says nothing about its member's account."""

    def get_user(self, validated_token: Any) -> Any:
        try:
            return super().get_user(validated_token)
        except (AuthenticationFailed, DjangoValidationError, ValueError, TypeError, OverflowError):
            raise InvalidToken("The token is invalid or expired.") from None
