"""HTTP API of guardian links: invite, list, read, confirm, end, and the guardian's switches for the
teen's feed (see `recommender.guardians`). Only the link's two members see it; anyone else reads
404 `guardianship_not_found`, as for an unknown id."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.public import USER_NOT_FOUND, MemberSerializer, member_card
from config.api import (
    BODY_ERRORS,
    PAGE_ERRORS,
    StrictSerializer,
    error_responses,
    iso,
    page_response,
    requester_id,
)
from config.openapi import PAGE_PARAMETERS, page_of
from recommender import errors, guardians, teens
from recommender.models import Guardianship


class _SwitchesSerializer(serializers.Serializer):
    personalisation_off = serializers.BooleanField(
        help_text="The teen's feed is popular and fresh posts, not built from their activity"
    )
    continuous_scroll_off = serializers.BooleanField(help_text="One page at a time: no endless scrolling")


class GuardianshipSerializer(serializers.Serializer):
    """A guardian link, as either of its members sees it."""

    id = serializers.UUIDField()
    guardian = MemberSerializer()
    teen = MemberSerializer()
    my_side = serializers.ChoiceField(choices=Guardianship.Side.choices)
    state = serializers.ChoiceField(choices=Guardianship.State.choices)
    invited_by = serializers.ChoiceField(choices=Guardianship.Side.choices)
    created_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    switches = _SwitchesSerializer(allow_null=True, help_text="While confirmed: what the guardian set")
    items_served_today = serializers.IntegerField(
        allow_null=True, help_text="While confirmed: feed items the teen has had today"
    )
    daily_items = serializers.IntegerField(help_text="Feed items a teen may have per day")

    def to_representation(self, link: Guardianship) -> dict[str, Any]:
        request = self.context["request"]
        confirmed = link.state == Guardianship.State.CONFIRMED
        switches = self.context.get("switches", {}).get(link.teen_id, (False, False))
        served = self.context.get("served", {})
        return {
            "id": str(link.id),
            "guardian": member_card(request, link.guardian),
            "teen": member_card(request, link.teen),
            "my_side": "guardian" if link.guardian_id == request.user.id else "teen",
            "state": link.state,
            "invited_by": link.invited_by,
            "created_at": iso(link.created_at),
            "confirmed_at": iso(link.confirmed_at),
            "ended_at": iso(link.ended_at),
            "switches": {"personalisation_off": switches[0], "continuous_scroll_off": switches[1]}
            if confirmed
            else None,
            "items_served_today": served.get(link.teen_id) if confirmed else None,
            "daily_items": teens.daily_items(),
        }


def _context(request: Request, links: list[Guardianship]) -> dict[str, Any]:
    """The teens' switches (one query) and today's counts (one Redis read) for the confirmed links."""
    teen_ids = [link.teen_id for link in links if link.state == Guardianship.State.CONFIRMED]
    return {
        "request": request,
        "switches": guardians.guardian_switches(teen_ids=teen_ids) if teen_ids else {},
        "served": teens.teen_items_served_today(teen_ids) if teen_ids else {},
    }


def _link_response(request: Request, link: Guardianship, code: int = status.HTTP_200_OK) -> Response:
    return Response(GuardianshipSerializer(link, context=_context(request, [link])).data, status=code)


class GuardianshipListApi(APIView):
    class InputSerializer(StrictSerializer):
        username = serializers.CharField(
            max_length=30,
            help_text="The teen's account (when I am the adult) or my guardian's (when I am the teen)",
        )

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(GuardianshipSerializer), **error_responses(PAGE_ERRORS)},
        summary="My guardian links (as guardian or as teen), newest first",
    )
    def get(self, request: Request) -> Response:
        context: dict[str, Any] = {"request": request}

        def prepare(page: list[Guardianship]) -> list[Guardianship]:
            context.update(_context(request, page))
            return page

        links = guardians.guardianships_of(member_id=requester_id(request))
        return page_response(self, request, links, GuardianshipSerializer, prepare=prepare, context=context)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: GuardianshipSerializer,
            200: GuardianshipSerializer,
            **error_responses(
                BODY_ERRORS, USER_NOT_FOUND, errors.GUARDIANSHIP_ROLES, errors.GUARDIANSHIP_TEEN_LINKED
            ),
        },
        summary="Invite a member to a guardian link (the adult guards the teen); they confirm it. "
        "An open link between us answers 200 as it stands",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        link, created = guardians.guardianship_invite(
            actor_id=requester_id(request), username=data.validated_data["username"]
        )
        link = guardians.guardianship_get_for_member(member_id=requester_id(request), guardianship_id=link.id)
        return _link_response(request, link, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class GuardianshipDetailApi(APIView):
    @extend_schema(
        responses={200: GuardianshipSerializer, **error_responses(errors.GUARDIANSHIP_NOT_FOUND)},
        summary="A guardian link of mine",
    )
    def get(self, request: Request, guardianship_id: UUID) -> Response:
        link = guardians.guardianship_get_for_member(
            member_id=requester_id(request), guardianship_id=guardianship_id
        )
        return _link_response(request, link)


class GuardianshipConfirmApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: GuardianshipSerializer,
            **error_responses(
                errors.GUARDIANSHIP_NOT_FOUND,
                errors.GUARDIANSHIP_STATE,
                errors.GUARDIANSHIP_OTHER_SIDE,
                errors.GUARDIANSHIP_TEEN_LINKED,
            ),
        },
        summary="Confirm a link I was invited to: from now on the guardian may set my feed's switches",
    )
    def post(self, request: Request, guardianship_id: UUID) -> Response:
        link = guardians.guardianship_confirm(actor_id=requester_id(request), guardianship_id=guardianship_id)
        return _link_response(request, link)


class GuardianshipEndApi(APIView):
    @extend_schema(
        request=None,
        responses={200: GuardianshipSerializer, **error_responses(errors.GUARDIANSHIP_NOT_FOUND)},
        summary="End a link (either side; declines an invitation); the teen's switches go back off",
    )
    def post(self, request: Request, guardianship_id: UUID) -> Response:
        link = guardians.guardianship_end(actor_id=requester_id(request), guardianship_id=guardianship_id)
        return _link_response(request, link)


class GuardianshipSwitchesApi(APIView):
    class InputSerializer(StrictSerializer):
        personalisation_off = serializers.BooleanField()
        continuous_scroll_off = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: GuardianshipSerializer,
            **error_responses(
                BODY_ERRORS,
                errors.GUARDIANSHIP_NOT_FOUND,
                errors.GUARDIANSHIP_GUARDIAN_ONLY,
                errors.GUARDIANSHIP_STATE,
            ),
        },
        summary="As the guardian of a confirmed link, set the teen's feed switches",
    )
    def put(self, request: Request, guardianship_id: UUID) -> Response:
        user_id = requester_id(request)
        guardians.guardianship_get_for_member(member_id=user_id, guardianship_id=guardianship_id)  # 404 first
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        link = guardians.guardian_switches_set(
            actor_id=user_id, guardianship_id=guardianship_id, **data.validated_data
        )
        return _link_response(request, link)


urlpatterns = [
    path("guardianships", GuardianshipListApi.as_view(), name="guardianship-list"),
    path("guardianships/<uuid:guardianship_id>", GuardianshipDetailApi.as_view(), name="guardianship-detail"),
    path(
        "guardianships/<uuid:guardianship_id>/confirm",
        GuardianshipConfirmApi.as_view(),
        name="guardianship-confirm",
    ),
    path("guardianships/<uuid:guardianship_id>/end", GuardianshipEndApi.as_view(), name="guardianship-end"),
    path(
        "guardianships/<uuid:guardianship_id>/switches",
        GuardianshipSwitchesApi.as_view(),
        name="guardianship-switches",
    ),
]
