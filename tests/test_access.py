"""Who may call what: every operation in the schema, called by an anonymous client and by a member.

Public operations are listed here on purpose; any other operation that answers an anonymous
caller with anything but 401 fails this test, including operations added later.
"""

from __future__ import annotations

import pytest

from tests.factories import InviteFactory, UserFactory

pytestmark = pytest.mark.django_db

PUBLIC = {
    ("post", "/api/v1/waitlist"),
    ("get", "/api/v1/invites/{code}"),
    ("post", "/api/v1/auth/signup"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/token/refresh"),
    ("post", "/api/v1/auth/logout"),
}


def operations(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path, item in schema["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path


def concrete(path: str) -> str:
    return (
        path.replace("{username}", "alice")
        .replace("{code}", "ABCD-ABCD-ABCD-ABCD")
        .replace("{job_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
        .replace("{video_id}", "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11")
    )


def test_every_non_public_operation_refuses_anonymous_callers(client):
    UserFactory(username="alice")
    InviteFactory(code="ABCDABCDABCDABCD")
    seen = 0
    for method, path in operations(client):
        response = getattr(client, method)(concrete(path), content_type="application/json")
        if (method, path) in PUBLIC:
            assert response.status_code != 401, (method, path)
        else:
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["error"]["code"] == "not_authenticated"
        seen += 1
    assert seen >= 20


def test_members_reach_only_their_own_account(auth_client):
    # "me" endpoints act on the caller; there is no way to name another account's private data
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    alice_view = auth_client(alice).get("/api/v1/users/bob").json()
    assert "email" not in alice_view
    assert "birthdate" not in alice_view
    assert auth_client(bob).get("/api/v1/me").json()["username"] == "bob"
    assert auth_client(alice).patch("/api/v1/me", {"bio": "mine"}, format="json").status_code == 200
    bob.profile.refresh_from_db()
    assert bob.profile.bio != "mine"
