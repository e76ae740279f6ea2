"""Tokens: log in, rotate, log out, and what a dead token gets."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def login(api, username, password=PASSWORD):
    return api.post("/api/v1/auth/token", {"username": username, "password": password}, format="json")


@pytest.mark.parametrize(
    "identifier",
    ["dana", "DANA", "dana@example.com", "Dana@Example.com"],
    ids=["username", "username-upper", "email", "email-mixed-case"],
)
def test_login_by_username_or_email(api, identifier):
    UserFactory(username="dana", email="dana@example.com")
    response = login(api, identifier)
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_wrong_password_and_inactive_user(api):
    UserFactory(username="dana")
    UserFactory(username="gone", is_active=False)
    for response in (login(api, "dana", "nope-nope-nope"), login(api, "gone"), login(api, "nobody")):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_credentials"


def test_refresh_rotates_and_the_old_refresh_token_dies(api):
    UserFactory(username="dana")
    first = login(api, "dana").json()
    rotated = api.post("/api/v1/auth/token/refresh", {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first["refresh"]
    replay = api.post("/api/v1/auth/token/refresh", {"refresh": first["refresh"]}, format="json")
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "token_not_valid"


def test_logout_blacklists_the_refresh_token(api):
    UserFactory(username="dana")
    tokens = login(api, "dana").json()
    assert api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 204
    after = api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert after.status_code == 401
    again = api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-token",
        "Bearer ",
        "Basic abc",
        "Bearer a.b.c",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiMSJ9.forged",
    ],
    ids=["garbage", "empty", "wrong-scheme", "three-parts", "forged"],
)
def test_bad_tokens_get_401_in_the_error_shape(api, header):
    response = api.get("/api/v1/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_refresh_token_is_not_an_access_token(api):
    UserFactory(username="dana")
    tokens = login(api, "dana").json()
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}").status_code == 401


def test_no_token_is_401(api):
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "key",
    [
        "dev-only-insecure-key-7c1f0b9e4a2d8e6f5b3a1c9d7e5f3a1b9c7d5e3f1a9b7c5d",  # the old shared constant
        "secret_key_of_this_installation",
    ],
    ids=["old-shared-constant", "the-secret-key-not-the-jwt-key"],
)
def test_a_token_forged_with_another_key_is_refused(api, settings, key):
    import time

    import jwt

    user = UserFactory()
    if key == "secret_key_of_this_installation":
        key = settings.SECRET_KEY
    claims = {"token_type": "access", "exp": int(time.time()) + 600, "jti": "x" * 32, "user_id": str(user.id)}
    forged = jwt.encode(claims, key, algorithm="HS256")
    response = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "token_not_valid")
    real = api.post("/api/v1/auth/token", {"username": user.username, "password": PASSWORD}, format="json")
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {real.json()['access']}").status_code == 200


def test_a_validly_signed_token_that_names_no_member_is_a_401(api, settings):
    import time

    import jwt

    key = settings.SIMPLE_JWT["SIGNING_KEY"]
    claims = {"exp": int(time.time()) + 600, "jti": "y" * 32, "user_id": "not-a-uuid"}
    access = jwt.encode({**claims, "token_type": "access"}, key, algorithm="HS256")
    refresh = jwt.encode({**claims, "token_type": "refresh"}, key, algorithm="HS256")
    me = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert (me.status_code, me.json()["error"]["code"]) == (401, "token_not_valid")
    renewed = api.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")
    assert (renewed.status_code, renewed.json()["error"]["code"]) == (401, "token_not_valid")


def test_an_access_token_of_a_deactivated_or_deleted_member_says_nothing_of_why(api):
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts import services

    gone, inactive = UserFactory(), UserFactory()
    tokens = {who: str(RefreshToken.for_user(who).access_token) for who in (gone, inactive)}
    services.member_deactivate(user=inactive)
    services.member_delete(user=gone)
    answers = [api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}") for token in tokens.values()]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [
        (401, {"code": "token_not_valid", "message": "The token is invalid or expired.", "fields": {}})
    ] * 2
