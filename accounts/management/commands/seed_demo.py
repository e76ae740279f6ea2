"""Demo data for `make run`: an admin, a moderator and a few members with invites to share."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.models import Follow, Profile, User
from accounts.roles import MODERATORS, moderators_group_sync

DEMO_PASSWORD = "kino-demo-pass"  # noqa: S105 (demo accounts on a local database, printed on purpose)
STAFF = [("admin", "Kino Admin", True), ("moderator", "Mo Derator", False)]
MEMBERS = [
    ("alice", "Alice", date(1995, 4, 2)),
    ("bob", "Bob", date(1990, 9, 17)),
    ("carol", "Carol", date(2000, 1, 30)),
    ("tess", "Tess (teen)", date.today().replace(year=date.today().year - 15)),
]


class Command(BaseCommand):
    help = "Create demo accounts in an empty database and print the logins (does nothing else otherwise)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--password",
            default=DEMO_PASSWORD,
            help="the demo accounts' password; given, it also replaces the public one on accounts that "
            "still have it (make run passes a random one when it serves more than this machine)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        if not User.objects.exists():
            self._seed(password)
        elif password != DEMO_PASSWORD:
            self._replace_public_password(password)
        self.stdout.write(f"Demo logins (password for all: {password}):")
        for user in User.objects.filter(
            username__in=[s[0] for s in STAFF] + [m[0] for m in MEMBERS]
        ).order_by("-is_superuser", "-is_staff", "username"):
            role = (
                "admin" if user.is_superuser else "moderator" if user.is_staff else user.age_band + " member"
            )
            codes = list(
                user.invites_created.filter(redeemed_at__isnull=True).values_list("code", flat=True)[:2]
            )
            shown = ", ".join("-".join(c[i : i + 4] for i in range(0, 16, 4)) for c in codes)
            self.stdout.write(f"  {user.username:10} {role:15} {('invites: ' + shown) if shown else ''}")

    @staticmethod
    def _replace_public_password(password: str) -> None:
        for user in User.objects.filter(username__in=[s[0] for s in STAFF] + [m[0] for m in MEMBERS]):
            if user.check_password(DEMO_PASSWORD):
                user.set_password(password)
                user.save(update_fields=["password"])

    @transaction.atomic
    def _seed(self, password: str) -> None:
        moderators_group_sync()
        moderators = Group.objects.get(name=MODERATORS)
        for username, name, superuser in STAFF:
            user = User.objects.create_user(
                username=username,
                email=f"{username}@kino.local",
                password=password,
                is_staff=True,
                is_superuser=superuser,
                birthdate=date(1985, 6, 1),
            )
            Profile.objects.filter(user=user).update(display_name=name)  # the manager made it
            if not superuser:
                user.groups.add(moderators)
        members = []
        for username, name, born in MEMBERS:
            user = User.objects.create_user(
                username=username, email=f"{username}@kino.local", password=password, birthdate=born
            )
            Profile.objects.filter(user=user).update(display_name=name, bio=f"Hi, I'm {name.split()[0]}.")
            services.member_invites_grant(user=user)
            members.append(user)
        alice, bob, carol, _tess = members
        Follow.objects.bulk_create(
            [
                Follow(follower=alice, followee=bob),
                Follow(follower=bob, followee=alice),
                Follow(follower=carol, followee=alice),
            ]
        )
        services.waitlist_join(email="hopeful@example.com")
        services.waitlist_join(email="eager@example.com")
