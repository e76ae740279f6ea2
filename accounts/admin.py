"""Admin for people, the waitlist (bulk admit) and invites (mint batches, see who invited whom)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone

from accounts import lockout, services
from accounts.models import Block, Follow, Invite, InviteBatch, Profile, User, WaitlistEntry


def _staff(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # the admin site only lets staff in
    return user


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ("display_name", "bio", "avatar")
    readonly_fields = ("avatar",)  # avatars come only through the upload guard (PUT /me/avatar)


class LockoutAuthenticationForm(AdminAuthenticationForm):
    """The admin's login, under the same lockout as the API's (per address and per account)."""

    def clean(self) -> dict[str, Any]:
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        username = self.data.get("username", "")
        locked = lockout.login_lockout(address=address, username=username)
        if locked is not None:
            raise forms.ValidationError(
                f"Too many failed logins. Try again in {locked.retry_after_s // 60 + 1} minutes.",
                code="login_locked",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            lockout.login_failed(address=address, username=username)
            raise
        lockout.login_succeeded(username=username)
        return cleaned


admin.site.login_form = LockoutAuthenticationForm

# What only a superuser may touch: anything that grants power. (The password field stays Django's
# masked, read-only one for everyone: made a plain read-only field it would print the hash, and its
# form is refused to non-superusers in user_change_password.)
POWER_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Superusers manage accounts. Other staff may see members and, with `deactivate_user`, deactivate
    those who are not staff; they can never change an account, a password or anyone's powers. The
    server enforces it (permissions per object, read-only fields, the password view refused)."""

    inlines = [ProfileInline]
    list_display = ("username", "email", "age_band", "invited_by", "is_active", "is_staff", "created_at")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("username", "email", "profile__display_name")
    ordering = ("-created_at",)
    readonly_fields = ("id", "created_at", "updated_at", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("id", "username", "password")}),
        ("Personal", {"fields": ("email", "birthdate")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )
    actions = ["deactivate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).select_related("invite_redeemed__created_by")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_readonly_fields(request, obj)
        return fields if _staff(request).is_superuser else (*fields, *POWER_FIELDS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _staff(request).is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and _may_manage(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and _may_manage(request, obj)

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        return _staff(request).has_perm("accounts.deactivate_user")

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        if not _staff(request).is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change and not _staff(request).is_superuser:  # never trust the form alone with power fields
            before = User.objects.get(pk=obj.pk)
            for field in ("is_staff", "is_superuser", "password"):
                setattr(obj, field, getattr(before, field))
        standing_changed = change and "is_active" in form.changed_data
        super().save_model(request, obj, form, change)
        Profile.objects.get_or_create(user=obj)  # "Add user" makes a member with a profile too
        if standing_changed and not obj.is_active:
            services.member_deactivate(user=obj)
        elif standing_changed:
            services.member_reactivate(user_id=obj.id)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        services.member_delete(user=obj)  # files, tokens and sockets go too, as with DELETE /me

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.member_delete(user=user)

    @admin.action(description="Deactivate selected members (not staff)", permissions=["deactivate"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        members = queryset.filter(is_staff=False, is_superuser=False, is_active=True)
        count = 0
        for member in members:
            services.member_deactivate(user=member)
            count += 1
        self.message_user(request, f"Deactivated {count} members; staff are never deactivated here.")

    @admin.display(description="Invited by")
    def invited_by(self, user: User) -> str:
        invite = getattr(user, "invite_redeemed", None)
        if invite is None:
            return "—"
        return invite.created_by.username if invite.created_by else f"({invite.get_source_display()})"


def _may_manage(request: HttpRequest, obj: Any) -> bool:
    """Only a superuser may change a staff member's or a superuser's account (their own included)."""
    staff = _staff(request)
    return staff.is_superuser or obj is None or not (obj.is_staff or obj.is_superuser)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """Groups carry permissions: only superusers may make or change them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _staff(request).is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _staff(request).is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _staff(request).is_superuser


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ("email", "created_at", "admitted_at", "invite")
    list_filter = (("admitted_at", admin.EmptyFieldListFilter),)
    search_fields = ("email",)
    readonly_fields = ("email", "created_at", "admitted_at", "invite")
    actions = ["admit"]

    @admin.action(description="Admit selected: send each an invite by email", permissions=["change"])
    def admit(self, request: HttpRequest, queryset: QuerySet[WaitlistEntry]) -> None:
        invites = services.waitlist_admit(
            entry_ids=queryset.values_list("id", flat=True), admitted_by=_staff(request)
        )
        skipped = queryset.count() - len(invites)
        self.message_user(request, f"Admitted {len(invites)}; invites are on their way.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} were already admitted and were skipped.", messages.INFO)


class MintForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=10_000, initial=50)
    ttl_days = forms.IntegerField(
        min_value=1, max_value=365, initial=settings.INVITE_TTL_DAYS, label="Valid for (days)"
    )
    note = forms.CharField(max_length=200, required=False)


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("display_code", "source", "created_by", "redeemed_by", "status_display", "expires_at")
    list_filter = ("source", ("redeemed_at", admin.EmptyFieldListFilter), "batch")
    search_fields = ("code", "email", "created_by__username", "redeemed_by__username")
    list_select_related = ("created_by", "redeemed_by")
    readonly_fields = (
        "code",
        "source",
        "created_by",
        "batch",
        "email",
        "redeemed_by",
        "redeemed_at",
        "created_at",
    )
    fields = (*readonly_fields, "expires_at")
    change_list_template = "admin/accounts/invite/change_list.html"
    actions = ["expire_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # invites are minted in batches, through "Mint a batch"

    @admin.display(description="Status")
    def status_display(self, invite: Invite) -> str:
        return invite.status

    @admin.action(description="Expire selected now", permissions=["change"])
    def expire_now(self, request: HttpRequest, queryset: QuerySet[Invite]) -> None:
        count = queryset.filter(redeemed_at__isnull=True).update(expires_at=timezone.now())
        self.message_user(request, f"Expired {count} invites.", messages.SUCCESS)

    def get_urls(self) -> list[Any]:
        mint = path("mint/", self.admin_site.admin_view(self.mint_view), name="accounts_invite_mint")
        return [mint, *super().get_urls()]

    def mint_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = MintForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            batch = services.invite_batch_mint(
                created_by=_staff(request),
                count=form.cleaned_data["count"],
                ttl_days=form.cleaned_data["ttl_days"],
                note=form.cleaned_data["note"],
            )
            self.message_user(request, f"Minted {batch.size} invites.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:accounts_invitebatch_change", args=[batch.pk]))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Mint a batch of invites",
            "opts": self.model._meta,
        }
        return render(request, "admin/accounts/invite/mint.html", context)


class BatchInviteInline(admin.TabularInline):
    model = Invite
    fields = ("display_code", "redeemed_by", "redeemed_at", "expires_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InviteBatch)
class InviteBatchAdmin(admin.ModelAdmin):
    list_display = ("__str__", "created_by", "size", "redeemed", "created_at")
    readonly_fields = ("created_by", "size", "created_at")
    fields = ("note", *readonly_fields)
    inlines = [BatchInviteInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Redeemed")
    def redeemed(self, batch: InviteBatch) -> int:
        return batch.invites.filter(redeemed_at__isnull=False).count()


class ReadOnlyEdgeAdmin(admin.ModelAdmin):
    """The social graph is the members': staff see it, and only the services (which keep follows and
    blocks apart under a lock) change it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Follow)
class FollowAdmin(ReadOnlyEdgeAdmin):
    list_display = ("follower", "followee", "created_at")
    search_fields = ("follower__username", "followee__username")
    raw_id_fields = ("follower", "followee")
    list_select_related = ("follower", "followee")


@admin.register(Block)
class BlockAdmin(ReadOnlyEdgeAdmin):
    list_display = ("blocker", "blocked", "created_at")
    search_fields = ("blocker__username", "blocked__username")
    raw_id_fields = ("blocker", "blocked")
    list_select_related = ("blocker", "blocked")
