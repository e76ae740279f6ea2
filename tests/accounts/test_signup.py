"""Signup through an invite: the rules a newcomer meets, through the HTTP API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts import hooks
from accounts.models import Invite, User
from config.errors import ErrorCode
from tests.factories import InviteFactory, UserFactory, signup_payload

pytestmark = pytest.mark.django_db


def years_ago(years: int, days: int = 0) -> str:
    today = timezone.localdate()
    return (today.replace(year=today.year - years) - timedelta(days=days)).isoformat()


def test_signup_creates_adult_member_with_tokens_and_invites(api, settings):
    # Given a valid invite shared by a member
    inviter = UserFactory()
    invite = InviteFactory(created_by=inviter, source=Invite.Source.MEMBER)

    # When a newcomer redeems it (with dashes and lowercase, as people type codes)
    code = invite.display_code.lower()
    response = api.post("/api/v1/auth/signup", signup_payload(code, username="NewBie"), format="json")

    # Then the account exists, lowercase, adult, with tokens and its own invites to share
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["user"]["username"] == "newbie"
    assert body["user"]["age_band"] == "adult"
    assert body["user"]["invites_available"] == settings.INVITES_PER_MEMBER
    assert set(body["tokens"]) == {"access", "refresh"}
    invite.refresh_from_db()
    assert invite.redeemed_by.username == "newbie"
    me = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {body['tokens']['access']}")
    assert me.status_code == 200
    assert me.json()["display_name"] == "New Bie"


@pytest.mark.parametrize(
    ("birthdate", "status", "band"),
    [
        pytest.param(years_ago(13), 201, "teen", id="13-today-teen"),
        pytest.param(years_ago(17, days=300), 201, "teen", id="17-teen"),
        pytest.param(years_ago(18), 201, "adult", id="18-today-adult"),
        pytest.param(years_ago(13, days=-1), 403, None, id="13-tomorrow-refused"),
        pytest.param(years_ago(8), 403, None, id="8-refused"),
    ],
)
def test_age_rules(api, birthdate, status, band):
    invite = InviteFactory()
    response = api.post(
        "/api/v1/auth/signup", signup_payload(invite.code, birthdate=birthdate), format="json"
    )
    assert response.status_code == status, response.json()
    if band:
        assert response.json()["user"]["age_band"] == band
    else:
        assert response.json()["error"]["code"] == "too_young"
        assert not User.objects.filter(username="newbie").exists()
        invite.refresh_from_db()
        assert invite.redeemed_at is None  # a refusal spends nothing


def test_future_birthdate_is_invalid(api):
    invite = InviteFactory()
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = api.post("/api/v1/auth/signup", signup_payload(invite.code, birthdate=future), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "birthdate_invalid"


@pytest.mark.parametrize(
    ("make_invite", "code"),
    [
        pytest.param(
            lambda: InviteFactory(redeemed_at=timezone.now(), redeemed_by=UserFactory()),
            "invite_used",
            id="used",
        ),
        pytest.param(
            lambda: InviteFactory(expires_at=timezone.now() - timedelta(seconds=1)),
            "invite_expired",
            id="expired",
        ),
        pytest.param(lambda: Invite(code="NOSUCHCODE234567"), "invite_invalid", id="unknown"),
    ],
)
def test_unusable_invites_are_refused(api, make_invite, code):
    invite = make_invite()
    response = api.post("/api/v1/auth/signup", signup_payload(invite.code), format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == code
    assert "invite_code" in body["fields"]
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.parametrize(
    ("username", "status", "code"),
    [
        pytest.param("ab", 400, "username_invalid", id="too-short"),
        pytest.param("a" * 31, 400, "invalid_input", id="too-long"),
        pytest.param("bad name", 400, "username_invalid", id="space"),
        pytest.param("émile", 400, "username_invalid", id="non-ascii"),
        pytest.param("admin", 400, "username_reserved", id="reserved"),
        pytest.param("_kino_", 400, "username_reserved", id="reserved-decorated"),
        pytest.param("Taken_Name", 409, "username_taken", id="taken-case-insensitively"),
        pytest.param("ok.name_2", 201, None, id="valid"),
    ],
)
def test_username_rules(api, username, status, code):
    UserFactory(username="taken_name")
    invite = InviteFactory()
    response = api.post("/api/v1/auth/signup", signup_payload(invite.code, username=username), format="json")
    assert response.status_code == status, response.json()
    if code:
        assert response.json()["error"]["code"] == code


def test_public_figure_hook_refuses_names(api):
    # Given a check registered the way `moderation` will register its public-figure registry
    famous = ErrorCode("test_username_public_figure", "This name belongs to a public figure.")

    def no_famous_names(text: str, kind: hooks.MemberTextKind) -> hooks.Refusal | None:
        return hooks.Refusal(famous) if kind == "username" and text == "famousperson" else None

    hooks.member_text_check_register(no_famous_names)
    try:
        invite = InviteFactory()
        refused = api.post(
            "/api/v1/auth/signup", signup_payload(invite.code, username="famousperson"), format="json"
        )
        accepted = api.post(
            "/api/v1/auth/signup", signup_payload(invite.code, username="ordinary"), format="json"
        )
    finally:
        hooks.member_text_check_unregister(no_famous_names)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "test_username_public_figure"
    assert accepted.status_code == 201


def test_email_taken_and_weak_password(api):
    UserFactory(email="someone@example.com")
    invite = InviteFactory()
    taken = api.post(
        "/api/v1/auth/signup", signup_payload(invite.code, email="SomeOne@example.com"), format="json"
    )
    weak = api.post("/api/v1/auth/signup", signup_payload(invite.code, password="12345678"), format="json")
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "email_taken")
    assert (weak.status_code, weak.json()["error"]["code"]) == (400, "password_weak")


def test_unknown_and_missing_fields_are_errors(api):
    invite = InviteFactory()
    unknown = api.post(
        "/api/v1/auth/signup", {**signup_payload(invite.code), "is_staff": True}, format="json"
    )
    missing = api.post("/api/v1/auth/signup", {"invite_code": invite.code}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"]["is_staff"][0]["code"] == "unknown_field"
    assert missing.status_code == 400
    assert set(missing.json()["error"]["fields"]) >= {"username", "email", "password", "birthdate"}


def test_invite_check_endpoint(api):
    invite = InviteFactory()
    ok = api.get(f"/api/v1/invites/{invite.display_code}")
    unknown = api.get("/api/v1/invites/ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    assert ok.status_code == 200
    assert ok.json()["status"] == "valid"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "invite_not_found"


def test_generated_codes_are_unguessable_and_unique():
    from accounts import services

    member = UserFactory()
    invites = services.member_invites_grant(user=member, count=200)
    codes = {i.code for i in invites}
    assert len(codes) == 200
    assert all(len(c) == 16 and set(c) <= set(services.INVITE_ALPHABET) for c in codes)


def test_teen_flag_follows_birthdate():
    teen = UserFactory(birthdate=date.today().replace(year=date.today().year - 14))
    adult = UserFactory(birthdate=date(1980, 1, 1))
    assert (teen.is_teen, teen.age_band) == (True, "teen")
    assert (adult.is_teen, adult.age_band) == (False, "adult")
