"""HTTP API of the accounts app: parse, call one service or selector, shape the answer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import errors, hooks, lockout, selectors, services
from accounts.models import User
from config.api import (
    BODY_ERRORS,
    IMAGE_ERRORS,
    PAGE_ERRORS,
    StrictSerializer,
    error_responses,
    page_response,
)
from config.errors import (
    LIKENESS_PUBLIC_FIGURE,
    MODERATION_UNAVAILABLE,
    RATE_LIMITED,
    TEXT_PUBLIC_FIGURE,
    TEXT_REFUSED,
    TOKEN_NOT_VALID,
    KinoError,
)
from config.openapi import PAGE_PARAMETERS, page_of


def _avatar_url(request: Request, user: User) -> str | None:
    profile = getattr(user, "profile", None)
    if profile is None or not profile.avatar:
        return None
    return request.build_absolute_uri(profile.avatar.url)


def member_card(request: Request, user: User) -> dict[str, Any]:
    """A member as every API shows one (`UserSummarySerializer`'s shape), built by hand: lists of
    cards render many of them, and DRF's field walk costs more than the query."""
    profile = getattr(user, "profile", None)
    return {
        "id": str(user.id),
        "username": user.username,
        "display_name": profile.display_name if profile else "",
        "avatar_url": _avatar_url(request, user),
    }


# What moderation's checks (registered in accounts' hooks) may answer for names, bios and avatars.
TEXT_POLICY_ERRORS = (TEXT_REFUSED, TEXT_PUBLIC_FIGURE, MODERATION_UNAVAILABLE)
LIKENESS_ERRORS = (LIKENESS_PUBLIC_FIGURE, MODERATION_UNAVAILABLE)


class UserSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField()
    display_name = serializers.SerializerMethodField()
    avatar_url = serializers.SerializerMethodField()

    def to_representation(self, instance: Any) -> Any:
        if type(self) is UserSummarySerializer:  # subclasses add fields: they take DRF's way
            return member_card(self.context["request"], instance)
        return super().to_representation(instance)

    def get_display_name(self, user: User) -> str:
        profile = getattr(user, "profile", None)
        return profile.display_name if profile else ""

    def get_avatar_url(self, user: User) -> str | None:
        return _avatar_url(self.context["request"], user)


class MeSerializer(UserSummarySerializer):
    email = serializers.EmailField()
    bio = serializers.SerializerMethodField()
    birthdate = serializers.DateField()
    age_band = serializers.CharField()
    invites_available = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_bio(self, user: User) -> str:
        profile = getattr(user, "profile", None)
        return profile.bio if profile else ""

    def get_invites_available(self, user: User) -> int:
        return user.invites_created.filter(redeemed_at__isnull=True, expires_at__gt=timezone.now()).count()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


def _me(request: Request, user: User) -> dict[str, Any]:
    user = User.objects.select_related("profile").get(id=user.id)
    return MeSerializer(user, context={"request": request}).data


def _actor(request: Request) -> User:
    """The authenticated member (the default permission, IsAuthenticated, has made sure of it)."""
    user = request.user
    assert isinstance(user, User)
    return user


# --- the beta: waitlist, invites, signup, tokens ----------------------------------


class WaitlistJoinApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "waitlist"

    class InputSerializer(StrictSerializer):
        email = serializers.EmailField(max_length=254)

    @extend_schema(
        request=InputSerializer,
        responses={
            202: inline_serializer("WaitlistJoined", {"status": serializers.CharField()}),
            **error_responses(BODY_ERRORS, RATE_LIMITED, public=True),
        },
        summary="Join the waitlist (same answer whether or not the address is already on it)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.waitlist_join(email=data.validated_data["email"])
        return Response({"status": "on_the_list"}, status=status.HTTP_202_ACCEPTED)


class InviteCheckApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "invite_check"

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField(source="display_code")
        status = serializers.ChoiceField(choices=["valid", "used", "expired"])
        expires_at = serializers.DateTimeField()

    @extend_schema(
        responses={
            200: OutputSerializer,
            **error_responses(errors.INVITE_NOT_FOUND, RATE_LIMITED, public=True),
        },
        summary="Is this invite code usable?",
    )
    def get(self, request: Request, code: str) -> Response:
        invite = selectors.invite_get_by_code(code=code)
        return Response(self.OutputSerializer(invite).data)


class SignupApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "signup"

    class InputSerializer(StrictSerializer):
        invite_code = serializers.CharField(max_length=40)
        username = serializers.CharField(max_length=30)
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, min_length=1, trim_whitespace=False)
        birthdate = serializers.DateField()
        display_name = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
        topics = serializers.ListField(
            child=serializers.CharField(max_length=hooks.SIGNUP_TOPIC_MAX),
            max_length=hooks.SIGNUP_TOPICS_MAX,
            required=False,
            default=list,
            help_text='Optional: what the new member likes ("cooking", "space"); their feed starts there',
        )

    class OutputSerializer(serializers.Serializer):
        user = MeSerializer()
        tokens = TokenPairSerializer()

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            **error_responses(
                BODY_ERRORS,
                RATE_LIMITED,
                errors.INVITE_INVALID,
                errors.INVITE_USED,
                errors.INVITE_EXPIRED,
                errors.USERNAME_INVALID,
                errors.USERNAME_RESERVED,
                *TEXT_POLICY_ERRORS,
                errors.PASSWORD_WEAK,
                errors.BIRTHDATE_INVALID,
                errors.TOO_YOUNG,
                errors.USERNAME_TAKEN,
                errors.EMAIL_TAKEN,
                public=True,
            ),
        },
        summary="Redeem an invite code and create an account",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        user = services.invite_redeem(
            code=v["invite_code"],
            username=v["username"],
            email=v["email"],
            password=v["password"],
            birthdate=v["birthdate"],
            display_name=v["display_name"],
        )
        if v["topics"]:
            hooks.signup_topics_run(user.id, v["topics"])
        tokens = services.tokens_issue(user_id=user.id)
        return Response({"user": _me(request, user), "tokens": tokens}, status=status.HTTP_201_CREATED)


class TokenObtainApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "login"

    class InputSerializer(StrictSerializer):
        username = serializers.CharField(max_length=254, help_text="Username or email address")
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: TokenPairSerializer,
            **error_responses(BODY_ERRORS, RATE_LIMITED, errors.INVALID_CREDENTIALS, public=True),
        },
        summary="Log in",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        identifier = data.validated_data["username"].strip()
        if "@" in identifier:
            match = User.objects.filter(email__iexact=identifier).values_list("username", flat=True).first()
            identifier = match or identifier
        address = request.META.get("REMOTE_ADDR", "")
        locked = lockout.login_lockout(address=address, username=identifier)
        if locked is not None:
            raise exceptions.Throttled(wait=locked.retry_after_s, detail="Too many failed logins; try later.")
        user = authenticate(request, username=identifier.lower(), password=data.validated_data["password"])
        if user is None:
            lockout.login_failed(address=address, username=identifier)
            raise KinoError(errors.INVALID_CREDENTIALS)
        lockout.login_succeeded(username=identifier)
        return Response(services.tokens_issue(user_id=user.id))


class RefreshTokenInputSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=2000)


def _refresh_token_refused(
    message: str = "The refresh token is invalid, expired or already used.",
) -> KinoError:
    return KinoError(TOKEN_NOT_VALID, message)


class TokenRefreshApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    InputSerializer = RefreshTokenInputSerializer

    @extend_schema(
        request=InputSerializer,
        responses={200: TokenPairSerializer, **error_responses(BODY_ERRORS, TOKEN_NOT_VALID, public=True)},
        summary="Swap a refresh token for a new pair (the old refresh token stops working)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.tokens_refresh(refresh=data.validated_data["refresh"]))


class LogoutApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    InputSerializer = RefreshTokenInputSerializer

    @extend_schema(
        request=InputSerializer,
        responses={204: None, **error_responses(BODY_ERRORS, TOKEN_NOT_VALID, public=True)},
        summary="Log out: the refresh token is blacklisted",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            RefreshToken(data.validated_data["refresh"]).blacklist()
        except TokenError:
            raise _refresh_token_refused() from None
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- me ---------------------------------------------------------------------------


class MeApi(APIView):
    class UpdateSerializer(StrictSerializer):
        display_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
        bio = serializers.CharField(max_length=300, required=False, allow_blank=True)

    class DeleteSerializer(StrictSerializer):
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(responses={200: MeSerializer, **error_responses()}, summary="Who am I")
    def get(self, request: Request) -> Response:
        return Response(_me(request, _actor(request)))

    @extend_schema(
        request=UpdateSerializer,
        responses={200: MeSerializer, **error_responses(BODY_ERRORS, *TEXT_POLICY_ERRORS)},
        summary="Edit my profile",
    )
    def patch(self, request: Request) -> Response:
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.profile_update(user=_actor(request), **data.validated_data)
        return Response(_me(request, _actor(request)))

    @extend_schema(
        request=DeleteSerializer,
        responses={204: None, **error_responses(BODY_ERRORS, errors.PASSWORD_WRONG)},
        summary="Delete my account and my personal data",
    )
    def delete(self, request: Request) -> Response:
        data = self.DeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_delete(user=_actor(request), password=data.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class AvatarApi(APIView):
    class InputSerializer(StrictSerializer):
        avatar = serializers.FileField(max_length=255, allow_empty_file=False)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={200: MeSerializer, **error_responses(BODY_ERRORS, IMAGE_ERRORS, *LIKENESS_ERRORS)},
        summary="Set my avatar (JPEG, PNG or WebP; re-encoded, metadata stripped)",
    )
    def put(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.avatar_set(user=_actor(request), upload=data.validated_data["avatar"])
        return Response(_me(request, _actor(request)))

    @extend_schema(responses={200: MeSerializer, **error_responses()}, summary="Remove my avatar")
    def delete(self, request: Request) -> Response:
        services.avatar_clear(user=_actor(request))
        return Response(_me(request, _actor(request)))


class MyInvitesApi(APIView):
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField(source="display_code")
        link = serializers.SerializerMethodField()
        status = serializers.ChoiceField(choices=["valid", "used", "expired"])
        expires_at = serializers.DateTimeField()
        redeemed_by = serializers.SerializerMethodField()
        created_at = serializers.DateTimeField()

        def get_link(self, invite: Any) -> str:
            return settings.SITE_URL + reverse("beta:redeem", kwargs={"code": invite.display_code})

        def get_redeemed_by(self, invite: Any) -> str | None:
            return invite.redeemed_by.username if invite.redeemed_by else None

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(OutputSerializer, "InvitePage"), **error_responses(PAGE_ERRORS)},
        summary="The invites I can share",
    )
    def get(self, request: Request) -> Response:
        return page_response(self, request, selectors.invites_of(user=_actor(request)), self.OutputSerializer)


# --- people -----------------------------------------------------------------------


class UserDetailApi(APIView):
    class OutputSerializer(UserSummarySerializer):
        bio = serializers.CharField(source="profile.bio")
        followers_count = serializers.IntegerField()
        following_count = serializers.IntegerField()
        is_following = serializers.BooleanField()
        follows_you = serializers.BooleanField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        responses={200: OutputSerializer, **error_responses(errors.USER_NOT_FOUND)},
        summary="A member's public profile",
    )
    def get(self, request: Request, username: str) -> Response:
        user = selectors.user_get_for_viewer(actor=_actor(request), username=username)
        for key, value in selectors.user_profile_stats(actor=_actor(request), user=user).items():
            setattr(user, key, value)
        return Response(self.OutputSerializer(user, context={"request": request}).data)


class EdgeSerializer(serializers.Serializer):
    user = UserSummarySerializer()
    since = serializers.DateTimeField(source="created_at")


def _edges_page(request: Request, view: APIView, queryset: Any, side: str) -> Response:
    def rows(page: list[Any]) -> list[dict[str, Any]]:
        return [{"user": getattr(edge, side), "created_at": edge.created_at} for edge in page]

    return page_response(view, request, queryset, EdgeSerializer, prepare=rows)


class FollowersApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(EdgeSerializer), **error_responses(PAGE_ERRORS, errors.USER_NOT_FOUND)},
        summary="Who follows this member",
    )
    def get(self, request: Request, username: str) -> Response:
        user = selectors.user_get_for_viewer(actor=_actor(request), username=username)
        return _edges_page(
            request, self, selectors.followers_for_viewer(actor=_actor(request), user=user), "follower"
        )


class FollowingApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(EdgeSerializer), **error_responses(PAGE_ERRORS, errors.USER_NOT_FOUND)},
        summary="Whom this member follows",
    )
    def get(self, request: Request, username: str) -> Response:
        user = selectors.user_get_for_viewer(actor=_actor(request), username=username)
        return _edges_page(
            request, self, selectors.following_for_viewer(actor=_actor(request), user=user), "followee"
        )


class MutualsApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(EdgeSerializer), **error_responses(PAGE_ERRORS)},
        summary="People I follow who follow me",
    )
    def get(self, request: Request) -> Response:
        return _edges_page(request, self, selectors.mutuals_of(user=_actor(request)), "followee")


class BlocksApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(EdgeSerializer), **error_responses(PAGE_ERRORS)},
        summary="People I blocked",
    )
    def get(self, request: Request) -> Response:
        return _edges_page(request, self, selectors.blocks_of(user=_actor(request)), "blocked")


class FollowApi(APIView):
    class OutputSerializer(serializers.Serializer):
        following = serializers.BooleanField()

    @extend_schema(
        request=None,
        responses={
            200: OutputSerializer,
            201: OutputSerializer,
            **error_responses(errors.USER_NOT_FOUND, errors.FOLLOW_SELF),
        },
        summary="Follow (repeating is harmless)",
    )
    def post(self, request: Request, username: str) -> Response:
        target = selectors.user_get_for_viewer(actor=_actor(request), username=username)
        _, created = services.follow_create(actor=_actor(request), target=target)
        return Response(
            {"following": True}, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(responses={204: None, **error_responses(errors.USER_NOT_FOUND)}, summary="Unfollow")
    def delete(self, request: Request, username: str) -> Response:
        target = selectors.user_get_for_viewer(actor=_actor(request), username=username)
        services.follow_delete(actor=_actor(request), target=target)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BlockApi(APIView):
    class OutputSerializer(serializers.Serializer):
        blocked = serializers.BooleanField()

    @extend_schema(
        request=None,
        responses={200: OutputSerializer, **error_responses(errors.USER_NOT_FOUND, errors.BLOCK_SELF)},
        summary="Block: you and they stop seeing each other; follows between you end",
    )
    def post(self, request: Request, username: str) -> Response:
        target = selectors.user_get_for_viewer(actor=_actor(request), username=username)
        services.block_create(actor=_actor(request), target=target)
        return Response({"blocked": True})

    @extend_schema(responses={204: None, **error_responses()}, summary="Unblock")
    def delete(self, request: Request, username: str) -> Response:
        # The person is hidden from the blocker, so look them up among the blocker's blocks.
        block = (
            selectors.blocks_of(user=_actor(request))
            .filter(blocked__username=username.strip().lower())
            .first()
        )
        if block is not None:
            services.block_delete(actor=_actor(request), target=block.blocked)
        return Response(status=status.HTTP_204_NO_CONTENT)
