"""Writes of the accounts app: joining the beta, invites, profiles, the social graph."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from datetime import date, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import errors, hooks
from accounts.models import (
    Block,
    Follow,
    Invite,
    InviteBatch,
    Profile,
    User,
    WaitlistEntry,
    invite_code_normalize,
    years_between,
)
from config.errors import TOKEN_NOT_VALID, KinoError, field_errors, upload_refused
from config.events import event_send_on_commit, sockets_close_on_commit
from config.storage import files_delete, files_delete_on_commit
from mediakit.images import ImageRejected, image_sanitize

logger = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^[a-z0-9_.]{3,30}$")
RESERVED_USERNAMES = frozenset(
    [
        "about",
        "abuse",
        "account",
        "accounts",
        "admin",
        "administrator",
        "api",
        "app",
        "apps",
        "auth",
        "beta",
        "billing",
        "blog",
        "cameo",
        "cameos",
        "contact",
        "dashboard",
        "dev",
        "developer",
        "developers",
        "docs",
        "download",
        "drafts",
        "explore",
        "feed",
        "forum",
        "generation",
        "generations",
        "help",
        "home",
        "info",
        "invite",
        "invites",
        "jobs",
        "kino",
        "kinoapp",
        "legal",
        "login",
        "logout",
        "me",
        "mod",
        "moderation",
        "moderator",
        "news",
        "notifications",
        "official",
        "oauth",
        "password",
        "press",
        "privacy",
        "provenance",
        "remix",
        "report",
        "root",
        "safety",
        "security",
        "settings",
        "signup",
        "staff",
        "static",
        "status",
        "support",
        "system",
        "team",
        "terms",
        "trust",
        "user",
        "users",
        "verify",
        "verified",
        "waitlist",
        "webmaster",
        "www",
    ]
)
# Without ambiguous characters (0/O, 1/I/L): codes are typed on phones.
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITE_CODE_LENGTH = 16  # 31^16 ≈ 2^79 codes


# --- usernames ------------------------------------------------------------------


def username_normalize(raw: str) -> str:
    return raw.strip().lower()


def username_validate(username: str) -> None:
    if not USERNAME_RE.fullmatch(username):
        raise KinoError(errors.USERNAME_INVALID, field="username")
    if username in RESERVED_USERNAMES or username.strip("._") in RESERVED_USERNAMES:
        raise KinoError(errors.USERNAME_RESERVED, field="username")
    _member_text_check(username, "username")


def _member_text_check(text: str, kind: hooks.MemberTextKind) -> None:
    refusal = hooks.member_text_checks_run(text, kind) if text else None
    if refusal is not None:
        raise KinoError(refusal.error, refusal.message, field=kind)


def _username_taken() -> KinoError:
    return KinoError(errors.USERNAME_TAKEN, field="username")


# --- waitlist and invites -------------------------------------------------------


def _invite_new(
    *,
    source: str,
    created_by: User | None = None,
    batch: InviteBatch | None = None,
    email: str = "",
    ttl_days: int | None = None,
) -> Invite:
    code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))
    ttl = timedelta(days=ttl_days if ttl_days is not None else settings.INVITE_TTL_DAYS)
    return Invite(
        code=code,
        source=source,
        created_by=created_by,
        batch=batch,
        email=email,
        expires_at=timezone.now() + ttl,
    )


def waitlist_join(*, email: str) -> None:
    """Idempotent and silent: the answer is the same whether or not the address was already there."""
    WaitlistEntry.objects.bulk_create([WaitlistEntry(email=email.strip().lower())], ignore_conflicts=True)
    logger.info("waitlist.joined")


@transaction.atomic
def waitlist_admit(*, entry_ids: Iterable[UUID], admitted_by: User | None) -> list[Invite]:
    """Issue an invite to each entry not yet admitted and mail it (after commit). Safe to repeat."""
    entries = list(
        WaitlistEntry.objects.select_for_update()
        .filter(id__in=list(entry_ids), admitted_at__isnull=True)
        .order_by("id")
    )
    invites = Invite.objects.bulk_create(
        [_invite_new(source=Invite.Source.WAITLIST, created_by=admitted_by, email=e.email) for e in entries]
    )
    now = timezone.now()
    for entry, invite in zip(entries, invites, strict=True):
        entry.admitted_at, entry.invite = now, invite
    WaitlistEntry.objects.bulk_update(entries, ["admitted_at", "invite", "updated_at"])
    from accounts.tasks import invite_email_send

    for invite in invites:
        transaction.on_commit(partial(invite_email_send.delay, invite_id=str(invite.id)))
    logger.info("waitlist.admitted", extra={"count": len(invites)})
    return invites


@transaction.atomic
def invite_batch_mint(*, created_by: User | None, count: int, ttl_days: int, note: str = "") -> InviteBatch:
    if not 1 <= count <= 10_000:
        raise KinoError(errors.INVITE_BATCH_SIZE)
    batch = InviteBatch.objects.create(created_by=created_by, size=count, note=note)
    Invite.objects.bulk_create(
        [
            _invite_new(source=Invite.Source.BATCH, created_by=created_by, batch=batch, ttl_days=ttl_days)
            for _ in range(count)
        ]
    )
    logger.info("invite.batch_minted", extra={"count": count})
    return batch


def member_invites_grant(*, user: User, count: int | None = None) -> list[Invite]:
    count = settings.INVITES_PER_MEMBER if count is None else count
    return Invite.objects.bulk_create(
        [_invite_new(source=Invite.Source.MEMBER, created_by=user) for _ in range(count)]
    )


def _invite_error(state: str) -> KinoError:
    error = {"unknown": errors.INVITE_INVALID, "used": errors.INVITE_USED, "expired": errors.INVITE_EXPIRED}
    return KinoError(error[state], field="invite_code")


def _age_check(birthdate: date) -> None:
    today = timezone.localdate()
    if birthdate > today or birthdate.year < today.year - 120:
        raise KinoError(errors.BIRTHDATE_INVALID, field="birthdate")
    if years_between(birthdate, today) < settings.MINIMUM_AGE:
        raise KinoError(errors.TOO_YOUNG, f"You must be at least {settings.MINIMUM_AGE} to join Kino.")


def invite_redeem(
    *, code: str, username: str, email: str, password: str, birthdate: date, display_name: str = ""
) -> User:
    """Create an account from a valid invite. Of concurrent redemptions of one code, exactly one wins:
    the invite row is locked, and a unique constraint on `redeemed_by` backs the lock up."""
    username = username_normalize(username)
    email = email.strip().lower()
    username_validate(username)
    _member_text_check(display_name.strip(), "display_name")
    _age_check(birthdate)
    candidate = User(username=username, email=email, birthdate=birthdate)
    try:
        password_validation.validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise KinoError(
            errors.PASSWORD_WEAK, fields=field_errors("password", errors.PASSWORD_WEAK, *exc.messages)
        ) from None

    with transaction.atomic():
        invite = Invite.objects.select_for_update().filter(code=invite_code_normalize(code)).first()
        if invite is None:
            raise _invite_error("unknown")
        if invite.status != "valid":
            raise _invite_error(invite.status)
        if User.objects.filter(username__iexact=username).exists():
            raise _username_taken()
        if User.objects.filter(email__iexact=email).exists():
            raise KinoError(errors.EMAIL_TAKEN, field="email")
        try:
            with transaction.atomic():
                candidate.set_password(password)
                candidate.save()
        except IntegrityError:
            raise _username_taken() from None
        Profile.objects.create(user=candidate, display_name=display_name.strip())
        invite.redeemed_by, invite.redeemed_at = candidate, timezone.now()
        invite.save(update_fields=["redeemed_by", "redeemed_at", "updated_at"])
        member_invites_grant(user=candidate)
    logger.info("invite.redeemed", extra={"user_id": str(candidate.id), "source": invite.source})
    return candidate


# --- profile and account ----------------------------------------------------------


def profile_update(*, user: User, display_name: str | None = None, bio: str | None = None) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    fields = []
    if display_name is not None:
        _member_text_check(display_name.strip(), "display_name")
        profile.display_name = display_name.strip()
        fields.append("display_name")
    if bio is not None:
        _member_text_check(bio.strip(), "bio")
        profile.bio = bio.strip()
        fields.append("bio")
    if fields:
        profile.save(update_fields=[*fields, "updated_at"])
    return profile


def avatar_set(*, user: User, upload: UploadedFile) -> Profile:
    """Under the member's lock: two uploads at once keep one file each way, and a deletion in flight
    either waits for this one (and removes it) or has happened (the new file is removed)."""
    try:
        webp = image_sanitize(
            upload,
            max_bytes=settings.AVATAR_MAX_BYTES,
            max_pixels=settings.AVATAR_MAX_PIXELS,
            size=settings.AVATAR_SIZE,
        )
    except ImageRejected as exc:
        raise upload_refused(exc, "avatar") from None
    refusal = hooks.member_image_checks_run(webp, "avatar")
    if refusal is not None:
        raise KinoError(refusal.error, refusal.message, field="avatar")
    with transaction.atomic():
        if _member_lock(user.id) is None:
            raise KinoError(TOKEN_NOT_VALID)
        profile, _ = Profile.objects.get_or_create(user=user)
        old = profile.avatar.name or None
        profile.avatar.save("avatar.webp", ContentFile(webp), save=False)
        new = profile.avatar.name
        files_delete_on_commit([old] if old else [])
        try:
            profile.save(update_fields=["avatar", "updated_at"])
        except DatabaseError:
            files_delete([new] if new else [])
            raise
    return profile


def avatar_clear(*, user: User) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    if profile.avatar:
        profile.avatar.delete(save=False)
        profile.save(update_fields=["avatar", "updated_at"])
    return profile


def _tokens_revoke(user: User) -> None:
    tokens = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in tokens], ignore_conflicts=True)


def _member_lock(user_id: Any) -> User | None:
    """The member's row, locked: token issuance, deactivation and deletion of one member serialize on it.
    None for an id that names no member (a token's claim may hold anything its signer put there)."""
    try:
        return User.objects.select_for_update().filter(id=user_id).first()
    except (DjangoValidationError, ValueError, TypeError):
        return None


def member_hold(*, user_id: UUID) -> bool:
    """Hold the member's row (FOR SHARE) for the rest of the caller's transaction, before it writes
    anything of theirs (rows, files): a deletion waits for it and then sees what it wrote, or has
    already happened (False: write nothing). Taken in the same order as deletion's lock, so the
    two never deadlock."""
    table = connection.ops.quote_name(User._meta.db_table)
    with connection.cursor() as cursor:
        # FOR KEY SHARE: what a foreign key's check takes anyway; it waits only for a deletion (or an
        # update of the member's own row), and many writers may hold it at once.
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [user_id])  # noqa: S608
        return cursor.fetchone() is not None


def tokens_issue(*, user_id: UUID) -> dict[str, str]:
    """An access and a refresh token for an active member. A deletion or deactivation in flight either
    commits first (then this is `invalid_credentials`) or waits for these tokens (then revokes them)."""
    with transaction.atomic():
        user = _member_lock(user_id)
        if user is None or not user.is_active:
            raise KinoError(errors.INVALID_CREDENTIALS)
        refresh = RefreshToken.for_user(user)
        return {"access": str(refresh.access_token), "refresh": str(refresh)}


def tokens_refresh(*, refresh: str) -> dict[str, str]:
    """A new pair for a refresh token of an active member; the old one stops working. Every dead
    token (expired, used, revoked, of a deactivated or deleted member) is the same 401."""
    with transaction.atomic():
        try:
            user_id = RefreshToken(refresh).payload.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])  # type: ignore[arg-type]
            user = _member_lock(user_id) if user_id else None
            if user is None or not user.is_active:
                raise KinoError(TOKEN_NOT_VALID)
            rotated = TokenRefreshSerializer(data={"refresh": refresh})
            rotated.is_valid(raise_exception=True)
        except (TokenError, AuthenticationFailed, DrfValidationError, ValueError):
            raise KinoError(TOKEN_NOT_VALID) from None
        return dict(rotated.validated_data)


@transaction.atomic
def member_deactivate(*, user: User) -> None:
    """Deactivate a member: their tokens die, their queued and running jobs stop, their sockets close."""
    locked = _member_lock(user.id)
    if locked is None:
        return
    # No early return for an inactive row: the admin's change form saves is_active=False first.
    User.objects.filter(id=user.id).update(is_active=False)
    user.is_active = False
    _tokens_revoke(locked)
    hooks.work_stop(hooks.WorkStop(subject="user", subject_id=user.id, error=errors.ACCOUNT_INACTIVE))
    sockets_close_on_commit(user_id=user.id, reason="account_inactive")
    hooks.standing_listeners_run(user.id, False)
    logger.info("user.deactivated", extra={"user_id": str(user.id)})


@transaction.atomic
def member_reactivate(*, user_id: UUID) -> None:
    """Active again (an appeal granted, a take-down restored, the admin); sessions revoked at the
    deactivation stay revoked (they sign in afresh). Nothing for a member already active or gone."""
    locked = _member_lock(user_id)
    if locked is None:
        return
    # No early return for an active row: the admin's change form saves is_active=True first.
    User.objects.filter(id=user_id).update(is_active=True)
    hooks.standing_listeners_run(user_id, True)
    logger.info("user.reactivated", extra={"user_id": str(user_id)})


def user_delete(*, user: User, password: str) -> None:
    """DELETE /me: the member, with their password, removes their account (see member_delete)."""
    if not user.check_password(password):
        raise KinoError(errors.PASSWORD_WRONG, field="password")
    member_delete(user=user)


def member_delete(*, user: User) -> None:
    """Remove the account, the personal data it carries and every file stored for it (once the deletion
    commits; links to them answer 404 from then on). Invites it redeemed stay used."""
    user_id = user.id
    with transaction.atomic():
        locked = _member_lock(user_id)
        if locked is None:
            return
        files = _member_files(locked)
        _tokens_revoke(locked)
        WaitlistEntry.objects.filter(email__iexact=locked.email).delete()
        # Locked, then deleted by id and still unredeemed: a redemption in flight keeps its invite.
        unused = Invite.objects.select_for_update().filter(created_by=locked, redeemed_at__isnull=True)
        unused_ids = list(unused.values_list("id", flat=True))
        Invite.objects.filter(id__in=unused_ids, redeemed_at__isnull=True).delete()
        hooks.member_leaving_run(user_id)
        locked.delete()
        sockets_close_on_commit(user_id=user_id, reason="account_deleted")
        files_delete_on_commit(files)
    logger.info("user.deleted", extra={"user_id": str(user_id), "files": len(files)})


def _member_files(user: User) -> list[str]:
    files = hooks.member_files_collect(user.id)
    profile = Profile.objects.filter(user=user).first()
    if profile is not None and profile.avatar.name:
        files.append(profile.avatar.name)
    return files


# --- follows and blocks -----------------------------------------------------------


def _is_blocked_either_way(a: User, b: User) -> bool:
    return Block.objects.filter(Q(blocker=a, blocked=b) | Q(blocker=b, blocked=a)).exists()


def _pair_lock(a: User, b: User) -> None:
    """Follows and blocks of one pair serialize on both members' rows, locked in id order (no deadlock):
    no follow can outlive a block that raced it."""
    pair = User.objects.select_for_update().filter(id__in=[a.id, b.id]).order_by("id")
    list(pair.values_list("id", flat=True))


@transaction.atomic
def follow_create(*, actor: User, target: User) -> tuple[Follow, bool]:
    """Follow `target`; following twice is not an error. Returns (follow, created).

    The followed member hears of it once per FOLLOW_NOTIFY_WINDOW_S: unfollowing and following
    again does not notify again."""
    if actor.id == target.id:
        raise KinoError(errors.FOLLOW_SELF)
    _pair_lock(actor, target)
    if _is_blocked_either_way(actor, target):
        raise KinoError(errors.USER_NOT_FOUND)
    follow, created = Follow.objects.get_or_create(follower=actor, followee=target)
    if created and cache.add(f"follow-notified:{actor.id}:{target.id}", 1, settings.FOLLOW_NOTIFY_WINDOW_S):
        hooks.follow_listeners_run(actor.id, target.id)
        event_send_on_commit(
            user_id=target.id,
            event_type="follow.created",
            data={"follower": {"id": str(actor.id), "username": actor.username}},
        )
    return follow, created


def follow_delete(*, actor: User, target: User) -> None:
    Follow.objects.filter(follower=actor, followee=target).delete()


@transaction.atomic
def block_create(*, actor: User, target: User) -> Block:
    """Block `target`: both stop seeing each other, and any follow between them ends."""
    if actor.id == target.id:
        raise KinoError(errors.BLOCK_SELF)
    _pair_lock(actor, target)
    block, _ = Block.objects.get_or_create(blocker=actor, blocked=target)
    Follow.objects.filter(Q(follower=actor, followee=target) | Q(follower=target, followee=actor)).delete()
    return block


def block_delete(*, actor: User, target: User) -> None:
    Block.objects.filter(blocker=actor, blocked=target).delete()
