"""People, their profiles, the invite-only beta, and the social graph."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone


class TimeStamped(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def years_between(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class UserManager(DjangoUserManager["User"]):
    """Every member has a profile, however they were made (signup, `createsuperuser`, a script)."""

    # Both create_user and create_superuser come through here (Django's private hook; stubs omit it).
    def _create_user(self, username: str, email: str | None, password: str | None, **extra: Any) -> User:
        with transaction.atomic():
            user = super()._create_user(username, email, password, **extra)  # type: ignore[misc]
            Profile.objects.get_or_create(user=user)
        return user


class User(AbstractUser):
    """A member (or staff). Usernames are stored lowercase; birthdate decides the age band."""

    objects: ClassVar[UserManager] = UserManager()

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(max_length=30, unique=True)
    email = models.EmailField(max_length=254)
    birthdate = models.DateField(null=True, blank=True, help_text="Empty only for staff created by hand.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("deactivate_user", "Can deactivate members (not staff)")]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="user_email_ci_unique"
            ),
        ]

    @property
    def age(self) -> int | None:
        return years_between(self.birthdate, timezone.localdate()) if self.birthdate else None

    @property
    def is_teen(self) -> bool:
        """13 to 17: stricter defaults everywhere (feed, cameos, quotas)."""
        age = self.age
        return age is not None and age < settings.ADULT_AGE

    @property
    def age_band(self) -> str:
        return "teen" if self.is_teen else "adult"


def avatar_path(profile: Profile, filename: str) -> str:
    return f"avatars/{profile.user_id}/{uuid.uuid4().hex}.webp"


class Profile(TimeStamped):
    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="profile")
    display_name = models.CharField(max_length=50, blank=True)
    bio = models.CharField(max_length=300, blank=True)
    avatar = models.ImageField(upload_to=avatar_path, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.display_name or self.user.username


def invite_code_normalize(raw: str) -> str:
    """Codes are shown as XXXX-XXXX-XXXX-XXXX and accepted with any case, spaces or dashes."""
    return re.sub(r"[\s-]", "", raw).upper()


class InviteBatch(TimeStamped):
    """Invites minted together by staff (for an event, a partner, a wave of the waitlist)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    size = models.PositiveIntegerField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "invite batches"

    def __str__(self) -> str:
        return f"{self.size} invites, {self.created_at:%Y-%m-%d}" + (f" ({self.note})" if self.note else "")


class Invite(TimeStamped):
    """A single-use, expiring code. Who made it and who redeemed it is the invite tree."""

    class Source(models.TextChoices):
        MEMBER = "member", "Shared by a member"
        WAITLIST = "waitlist", "Admitted from the waitlist"
        BATCH = "batch", "Minted by staff"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=32, unique=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="invites_created"
    )
    batch = models.ForeignKey(
        InviteBatch, null=True, blank=True, on_delete=models.CASCADE, related_name="invites"
    )
    email = models.EmailField(blank=True, help_text="Where it was sent, for waitlist invites.")
    expires_at = models.DateTimeField()
    redeemed_by = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="invite_redeemed"
    )
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"])]

    def __str__(self) -> str:
        return self.display_code

    @property
    def display_code(self) -> str:
        return "-".join(self.code[i : i + 4] for i in range(0, len(self.code), 4))

    @property
    def status(self) -> str:
        if self.redeemed_at is not None:
            return "used"
        if self.expires_at <= timezone.now():
            return "expired"
        return "valid"


class WaitlistEntry(TimeStamped):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True, help_text="Stored lowercase.")
    admitted_at = models.DateTimeField(null=True, blank=True)
    invite = models.OneToOneField(Invite, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"

    def __str__(self) -> str:
        return self.email


class Follow(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_edges")
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_edges")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_once"),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("followee")), name="follow_not_self"
            ),
        ]
        indexes = [models.Index(fields=["followee", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.followee_id}"


class Block(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocking_edges")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocked_by_edges")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once"),
            models.CheckConstraint(condition=~models.Q(blocker=models.F("blocked")), name="block_not_self"),
        ]
        indexes = [models.Index(fields=["blocked"])]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"
