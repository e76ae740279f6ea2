"""Deploy checks of the keys that sign tokens (Django checks SECRET_KEY itself, W009)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

MIN_LENGTH, MIN_UNIQUE = 50, 5  # as Django asks of SECRET_KEY


@register(Tags.security, deploy=True)
def jwt_signing_key_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    key = settings.JWT_SIGNING_KEY
    if len(key) < MIN_LENGTH or len(set(key)) < MIN_UNIQUE:
        return [
            Error(
                f"JWT_SIGNING_KEY must be at least {MIN_LENGTH} characters with {MIN_UNIQUE} different ones: "
                "anyone who guesses it can sign in as any member.",
                hint="python -c 'import secrets; print(secrets.token_urlsafe(64))'",
                id="kino.accounts.E001",
            )
        ]
    if key == settings.SECRET_KEY:
        return [Error("JWT_SIGNING_KEY must differ from SECRET_KEY.", id="kino.accounts.E002")]
    return []
