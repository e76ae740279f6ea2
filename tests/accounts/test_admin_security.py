"""The admin under attack from inside: a moderator cannot raise anyone's powers or reach an account's
password; logins are locked after repeated failures; every way of making a user makes a profile."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from accounts.models import Profile, User
from accounts.roles import MODERATOR_PERMISSIONS, MODERATORS, moderators_group_sync
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator():
    moderators_group_sync()
    user = UserFactory(username="mod", is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATORS))
    return user


def logged_in(client, user):
    client.force_login(user)
    return client


def csrf_of(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def test_a_moderator_cannot_make_themselves_superuser(client, moderator):
    client = logged_in(client, moderator)
    url = f"/admin/accounts/user/{moderator.id}/change/"
    form = {
        "username": "mod",
        "email": "mod@example.com",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [g.id for g in Group.objects.all()],
        "user_permissions": list(Permission.objects.values_list("id", flat=True)),
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "1",
    }
    response = client.post(url, form)
    assert response.status_code == 403
    moderator.refresh_from_db()
    assert not moderator.is_superuser
    assert moderator.user_permissions.count() == 0
    assert set(moderator.groups.values_list("name", flat=True)) == {MODERATORS}


@pytest.mark.parametrize("target", ["another-staff", "superuser", "member"])
def test_a_moderator_gets_403_for_any_password_form(client, moderator, target):
    other = UserFactory(is_staff=target != "member", is_superuser=target == "superuser")
    response = logged_in(client, moderator).get(f"/admin/accounts/user/{other.id}/password/")
    assert response.status_code == 403
    posted = client.post(
        f"/admin/accounts/user/{other.id}/password/",
        {"password1": "hijacked-pass-123", "password2": "hijacked-pass-123"},
    )
    assert posted.status_code == 403
    other.refresh_from_db()
    assert other.check_password(PASSWORD)


def test_even_a_widened_moderator_cannot_touch_powers_or_staff(client, moderator):
    # Someone gave the moderators every accounts permission, as the old demo did
    Group.objects.get(name=MODERATORS).permissions.add(
        *Permission.objects.filter(content_type__app_label="accounts")
    )
    member, staffer = UserFactory(), UserFactory(is_staff=True)
    client = logged_in(client, moderator)
    assert client.get(f"/admin/accounts/user/{staffer.id}/change/").status_code in (200, 302)
    posted = client.post(f"/admin/accounts/user/{staffer.id}/change/", {"username": staffer.username})
    assert posted.status_code == 403
    page = client.get(f"/admin/accounts/user/{member.id}/change/")
    assert b'name="is_superuser"' not in page.content  # read-only for anyone but a superuser
    assert b'name="is_staff"' not in page.content
    assert client.get("/admin/auth/group/add/").status_code == 403
    moderators = Group.objects.get(name=MODERATORS)
    assert client.post(f"/admin/auth/group/{moderators.id}/change/", {"name": MODERATORS}).status_code == 403
    assert client.get("/admin/accounts/user/add/").status_code == 403


def test_the_moderators_group_holds_exactly_its_permissions(moderator):
    held = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=MODERATORS).permissions.all()
    }
    assert held == set(MODERATOR_PERMISSIONS)
    assert not any(name.startswith("auth.") or name.endswith(("change_user", "add_user")) for name in held)


def test_a_moderator_may_deactivate_members_but_not_staff(
    client, moderator, django_capture_on_commit_callbacks
):
    member, staffer = UserFactory(), UserFactory(is_staff=True)
    client = logged_in(client, moderator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/accounts/user/",
            {"action": "deactivate", "_selected_action": [str(member.id), str(staffer.id)]},
        )
    member.refresh_from_db()
    staffer.refresh_from_db()
    assert (member.is_active, staffer.is_active) == (False, True)


def test_the_admin_login_locks_after_ten_failures_even_for_the_right_password(client):
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    for _ in range(10):
        page = client.get("/admin/login/")
        client.post(
            "/admin/login/", {"csrfmiddlewaretoken": csrf_of(page), "username": "boss", "password": "nope"}
        )
    page = client.get("/admin/login/")
    eleventh = client.post(
        "/admin/login/?next=/admin/",
        {"csrfmiddlewaretoken": csrf_of(page), "username": "boss", "password": PASSWORD},
    )
    assert eleventh.status_code == 200  # the form again, not the redirect into the admin
    assert b"Too many failed logins" in eleventh.content
    assert client.get("/admin/").status_code == 302


def test_the_api_login_locks_per_account_across_addresses(api):
    UserFactory(username="dana")
    for i in range(10):
        api.post(
            "/api/v1/auth/token",
            {"username": "dana", "password": "nope"},
            format="json",
            REMOTE_ADDR=f"10.0.0.{i}",  # ten different addresses: the per-address count never trips
        )
    right = api.post(
        "/api/v1/auth/token",
        {"username": "dana", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.1.1",
    )
    assert (right.status_code, right.json()["error"]["code"]) == (429, "rate_limited")
    assert int(right["Retry-After"]) > 0


def test_every_way_of_making_a_user_makes_a_profile(client, auth_client):
    boss = UserFactory(is_staff=True, is_superuser=True)
    client = logged_in(client, boss)
    page = client.get("/admin/accounts/user/add/")
    client.post(
        "/admin/accounts/user/add/",
        {
            "csrfmiddlewaretoken": csrf_of(page),
            "username": "byhand",
            "email": "byhand@example.com",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "0",
        },
    )
    call_command("createsuperuser", "--noinput", "--username", "root2", "--email", "root2@example.com")
    made = [
        User.objects.get(username="byhand"),
        User.objects.get(username="root2"),
        User.objects.create_user("s"),
    ]
    assert all(Profile.objects.filter(user=user).exists() for user in made)
    assert auth_client(made[0]).patch("/api/v1/me", {"bio": "hello"}, format="json").status_code == 200


def test_no_staff_page_shows_a_password_hash(client, moderator):
    boss = UserFactory(is_staff=True, is_superuser=True)
    for viewer in (moderator, boss):
        page = logged_in(client, viewer).get(f"/admin/accounts/user/{boss.id}/change/")
        assert page.status_code == 200
        assert boss.password.split("$")[-1].encode() not in page.content  # the hash itself
        assert boss.password.split("$")[2].encode() not in page.content  # nor its salt


def _change_form_post(client, boss, member, *, active: bool):
    """The superuser saves the member's change form as it stands, "active" ticked or not."""
    client = logged_in(client, boss)
    page = client.get(f"/admin/accounts/user/{member.id}/change/")
    form = {
        "csrfmiddlewaretoken": csrf_of(page),
        "username": member.username,
        "email": member.email,
        "birthdate": "1994-05-06",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "1",
        "profile-0-user": str(member.id),
        "profile-0-display_name": "x",
        "profile-0-bio": "",
        **({"is_active": "on"} if active else {}),
    }
    saved = client.post(f"/admin/accounts/user/{member.id}/change/", form)
    assert saved.status_code == 302, saved.content[:2000]


def test_deactivating_in_the_change_form_ends_tokens_and_jobs(client, django_capture_on_commit_callbacks):
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
    from rest_framework_simplejwt.tokens import RefreshToken

    from tests.factories import JobFactory

    boss, member = UserFactory(is_staff=True, is_superuser=True), UserFactory()
    RefreshToken.for_user(member)
    job = JobFactory(user=member)
    with django_capture_on_commit_callbacks(execute=True):
        _change_form_post(client, boss, member, active=False)
    member.refresh_from_db()
    job.refresh_from_db()
    assert not member.is_active
    assert BlacklistedToken.objects.filter(token__user=member).exists()
    assert (job.state, job.error_code) == ("blocked", "account_inactive")


def test_ticking_active_again_tells_the_standing_listeners(client):
    from accounts import hooks

    boss, member = UserFactory(is_staff=True, is_superuser=True), UserFactory(is_active=False)
    heard: list[tuple[object, bool]] = []
    listener = hooks.standing_listener_register(lambda user_id, active: heard.append((user_id, active)))
    try:
        _change_form_post(client, boss, member, active=True)
    finally:
        hooks._standing_listeners.remove(listener)
    member.refresh_from_db()
    assert member.is_active
    assert heard == [(member.id, True)]


def test_deleting_a_member_in_the_admin_removes_their_files(client, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    from tests.factories import VideoFactory

    boss, member = UserFactory(is_staff=True, is_superuser=True), UserFactory()
    video = VideoFactory(owner=member)
    files = [video.video.name, video.poster.name]
    client = logged_in(client, boss)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/accounts/user/{member.id}/delete/", {"post": "yes"})
    assert not User.objects.filter(id=member.id).exists()
    assert not [name for name in files if default_storage.exists(name)]


def test_staff_cannot_make_follows_in_the_admin(client):
    boss = UserFactory(is_staff=True, is_superuser=True)
    assert logged_in(client, boss).get("/admin/accounts/follow/add/").status_code == 403


def test_an_ipv6_client_is_counted_per_64(api):
    for i in range(10):
        api.post(
            "/api/v1/auth/token",
            {"username": f"nobody{i}", "password": "nope"},
            format="json",
            REMOTE_ADDR=f"2001:db8:1:2::{i + 1}",  # ten addresses of one /64
        )
    other = api.post(
        "/api/v1/auth/token",
        {"username": "x", "password": "y"},
        format="json",
        REMOTE_ADDR="2001:db8:1:2::99",
    )
    assert other.status_code == 429


def test_a_moderator_works_the_moderation_pages_but_writes_only_through_the_desk(client, moderator):
    from moderation.audit import audit_record
    from moderation.models import Decision, PublicFigure, QueueItem, Report

    item = QueueItem.objects.create(subject_kind="user", subject_id=UserFactory().id)
    report = Report.objects.create(
        reporter=UserFactory(), item=item, subject_kind="user", subject_id=item.subject_id, reason="spam"
    )
    decision = Decision.objects.create(
        item=item,
        action="dismiss",
        reason_code="no_violation",
        reason_text="x",
        subject_kind="user",
        subject_id=item.subject_id,
    )
    figure = PublicFigure.objects.create(name="Someone Famous")
    entry = audit_record(action="screen.clip", subject_kind="job", subject_id="j")
    client = logged_in(client, moderator)
    base = "/admin/moderation"
    for page in ("queueitem", "report", "decision", "appeal", "label", "auditentry", "publicfigure"):
        assert client.get(f"{base}/{page}/").status_code == 200, page
    assert client.get(f"{base}/dashboard/").status_code == 200
    assert client.get(f"{base}/publicfigure/add/").status_code == 200  # they keep the registry
    assert (
        client.get(f"{base}/publicfigure/{figure.id}/delete/").status_code == 403
    )  # deactivated, not deleted
    for page, obj in (("report", report), ("decision", decision), ("auditentry", entry)):
        assert client.get(f"{base}/{page}/add/").status_code == 403, page
        assert client.post(f"{base}/{page}/{obj.pk}/change/", {}).status_code == 403, page
        assert client.post(f"{base}/{page}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403, page
    assert client.get(f"{base}/note/").status_code == 404  # notes live on the item's page
    assert client.post(f"{base}/queueitem/{item.id}/claim/").status_code == 302  # the desk's buttons
    assert Report.objects.filter(id=report.id).exists()
    assert Decision.objects.filter(id=decision.id).exists()
