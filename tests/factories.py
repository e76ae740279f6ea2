from __future__ import annotations

from datetime import date, timedelta

import factory
from django.utils import timezone

from accounts.models import Invite, Profile, User, WaitlistEntry

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"member{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    birthdate = date(1994, 5, 6)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)
    profile = factory.RelatedFactory("tests.factories.ProfileFactory", factory_related_name="user")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile

    display_name = factory.Faker("first_name")


class InviteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invite

    code = factory.Sequence(lambda n: f"TEST{n:012d}"[:16].ljust(16, "A"))
    source = Invite.Source.BATCH
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WaitlistEntry

    email = factory.Sequence(lambda n: f"waiting{n}@example.com")


def signup_payload(code: str, **overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "invite_code": code,
        "username": "newbie",
        "email": "newbie@example.com",
        "password": PASSWORD,
        "birthdate": "1999-03-04",
        "display_name": "New Bie",
    }
    payload.update(overrides)
    return payload
