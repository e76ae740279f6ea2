from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_staff_and_members_once_and_prints_logins(api):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())  # a second run adds nothing

    assert User.objects.count() == 6
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="moderator").groups.filter(name="moderators").exists()
    assert User.objects.get(username="tess").is_teen
    assert User.objects.get(username="alice").invites_created.count() == 4
    printed = out.getvalue()
    assert "kino-demo-pass" in printed
    assert all(name in printed for name in ("admin", "moderator", "alice", "bob", "carol", "tess"))
    login = api.post("/api/v1/auth/token", {"username": "alice", "password": "kino-demo-pass"}, format="json")
    assert login.status_code == 200


def test_seed_demo_leaves_a_non_empty_database_alone():
    User.objects.create_user(username="someone", email="someone@example.com", password="x")
    call_command("seed_demo", stdout=StringIO())
    assert list(User.objects.values_list("username", flat=True)) == ["someone"]
