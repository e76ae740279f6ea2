"""The waitlist: anyone may join, nobody learns who is on it, staff admit in bulk."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import Invite, WaitlistEntry
from tests.factories import UserFactory, WaitlistEntryFactory

pytestmark = pytest.mark.django_db


def test_join_is_idempotent_and_does_not_enumerate(api):
    first = api.post("/api/v1/waitlist", {"email": "Someone@Example.com"}, format="json")
    again = api.post("/api/v1/waitlist", {"email": "someone@example.com"}, format="json")
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert list(WaitlistEntry.objects.values_list("email", flat=True)) == ["someone@example.com"]


def test_join_is_rate_limited_per_client(api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "waitlist": "3/min"},
    }
    from rest_framework.throttling import ScopedRateThrottle

    ScopedRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        codes = [
            api.post("/api/v1/waitlist", {"email": f"p{i}@example.com"}, format="json").status_code
            for i in range(5)
        ]
    finally:
        from rest_framework.settings import api_settings

        ScopedRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert codes == [202, 202, 202, 429, 429]
    limited = api.post("/api/v1/waitlist", {"email": "late@example.com"}, format="json")
    assert limited.json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in limited.headers


def test_staff_admit_in_bulk_from_the_admin_and_invites_are_mailed(
    client, api, django_capture_on_commit_callbacks
):
    # Given three people waiting, one already admitted
    staff = UserFactory(username="staffer", is_staff=True, is_superuser=True)
    waiting = WaitlistEntryFactory.create_batch(3)
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/accounts/waitlistentry/", {"action": "admit", "_selected_action": [str(waiting[0].id)]}
        )
    mail.outbox.clear()

    # When staff admit all three in one action
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/accounts/waitlistentry/",
            {"action": "admit", "_selected_action": [str(e.id) for e in waiting]},
            follow=True,
        )

    # Then the two new ones get exactly one invite each, by email, and the first is not re-invited
    assert response.status_code == 200
    assert sorted(m.to[0] for m in mail.outbox) == sorted(e.email for e in waiting[1:])
    assert Invite.objects.filter(source=Invite.Source.WAITLIST).count() == 3
    message = mail.outbox[0]
    link = re.search(r"http://\S+/beta/invite/(\S+)/", message.body)
    assert link, message.body
    # And the mailed code works for signup
    code = link.group(1)
    signup = api.post(
        "/api/v1/auth/signup",
        {
            "invite_code": code,
            "username": "fromthelist",
            "email": message.to[0],
            "password": "correct-horse-battery",
            "birthdate": "1990-01-01",
        },
        format="json",
    )
    assert signup.status_code == 201, signup.json()


def test_mint_a_batch_in_the_admin(client):
    staff = UserFactory(username="staffer", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get("/admin/accounts/invite/mint/").status_code == 200
    response = client.post(
        "/admin/accounts/invite/mint/", {"count": 25, "ttl_days": 3, "note": "launch party"}, follow=True
    )
    assert response.status_code == 200
    assert Invite.objects.filter(source=Invite.Source.BATCH, batch__note="launch party").count() == 25


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/user/",
        "/admin/accounts/waitlistentry/",
        "/admin/accounts/invite/",
        "/admin/accounts/invitebatch/",
        "/admin/accounts/follow/",
        "/admin/accounts/block/",
    ],
)
def test_admin_pages_render(client, url):
    staff = UserFactory(username="staffer", is_staff=True, is_superuser=True)
    UserFactory.create_batch(2)
    client.force_login(staff)
    assert client.get(url).status_code == 200


def test_members_cannot_reach_the_admin(client):
    member = UserFactory()
    client.force_login(member)
    assert client.get("/admin/accounts/user/").status_code == 302
