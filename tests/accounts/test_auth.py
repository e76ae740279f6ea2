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
