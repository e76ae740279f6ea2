"""The members' side of moderation: reporting, reading one's own statements of reasons, appealing.

Moderators work in the admin (moderation/admin/), over the same services."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.api import (
    BODY_ERRORS,
    PAGE_ERRORS,
    StrictSerializer,
    error_responses,
    page_response,
    requester_id,
)
from config.errors import RATE_LIMITED
from config.openapi import PAGE_PARAMETERS, page_of
from moderation import appeals, errors, reports, selectors
from moderation.estates import estate_request_create
from moderation.models import (
    REASON_TEXT_MAX,
    REPORT_TEXT_MAX,
    Appeal,
    Decision,
    LabelKind,
    Report,
    SubjectKind,
)
from moderation.tasks import appeal_token_read

# --- reports --------------------------------------------------------------------------------------


class ReportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    subject_kind = serializers.ChoiceField(choices=SubjectKind.choices)
    subject_id = serializers.UUIDField()
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    outcome_told = serializers.SerializerMethodField(help_text="I have been told what was decided")

    def get_outcome_told(self, report: Report) -> bool:
        return report.outcome_told_at is not None


class ReportCreateApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "report"

    class InputSerializer(StrictSerializer):
        subject_kind = serializers.ChoiceField(choices=SubjectKind.choices)
        subject_id = serializers.UUIDField()
        reason = serializers.ChoiceField(choices=Report.Reason.choices)
        text = serializers.CharField(max_length=REPORT_TEXT_MAX, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            200: ReportSerializer,
            201: ReportSerializer,
            **error_responses(BODY_ERRORS, errors.SUBJECT_NOT_FOUND, errors.REPORT_OWN, RATE_LIMITED),
        },
        summary="Report a video, comment, member or cameo (201; reporting it again answers the first "
        "report, unchanged: 200)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        receipt = reports.report_create(reporter_id=requester_id(request), **data.validated_data)
        return Response(
            ReportSerializer(receipt.report).data,
            status=status.HTTP_201_CREATED if receipt.created else status.HTTP_200_OK,
        )


# --- statements of reasons ------------------------------------------------------------------------


class AppealSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    decision_id = serializers.UUIDField()
    text = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["pending", "upheld", "overturned"])
    outcome_text = serializers.CharField(help_text="The reviewing moderator's reasons (empty while pending)")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class _SubjectSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SubjectKind.choices, source="subject_kind")
    id = serializers.UUIDField(source="subject_id")


class _ReasonSerializer(serializers.Serializer):
    code = serializers.CharField(source="reason_code", help_text="A stable statement-of-reasons code")
    text = serializers.CharField(source="reason_text", help_text="The moderator's reasons, for me")


def _appeal_of(decision: Decision) -> Appeal | None:
    try:
        return decision.appeal
    except Appeal.DoesNotExist:
        return None


class DecisionSerializer(serializers.Serializer):
    """A statement of reasons: what was decided about something of mine, why, and whether I may appeal."""

    id = serializers.UUIDField()
    subject = _SubjectSerializer(source="*")
    action = serializers.ChoiceField(choices=Decision.Action.choices)
    labels = serializers.ListField(child=serializers.ChoiceField(choices=LabelKind.choices))
    reason = _ReasonSerializer(source="*")
    created_at = serializers.DateTimeField()
    appealable_until = serializers.DateTimeField(
        allow_null=True, help_text="Until when I may appeal; null: not appealable"
    )
    can_appeal = serializers.SerializerMethodField(help_text="I may appeal it now (one appeal per decision)")
    appeal = serializers.SerializerMethodField(help_text="My appeal of it, if any")

    def get_can_appeal(self, decision: Decision) -> bool:
        until = decision.appealable_until
        return until is not None and timezone.now() <= until and _appeal_of(decision) is None

    @extend_schema_field(AppealSerializer(allow_null=True))
    def get_appeal(self, decision: Decision) -> dict[str, Any] | None:
        appeal = _appeal_of(decision)
        return None if appeal is None else dict(AppealSerializer(appeal).data)


class DecisionListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(DecisionSerializer), **error_responses(PAGE_ERRORS)},
        summary="My statements of reasons: moderators' decisions about me or what I made, the latest first",
    )
    def get(self, request: Request) -> Response:
        decisions = selectors.decisions_of_member(user_id=requester_id(request))
        return page_response(self, request, decisions, DecisionSerializer)


class DecisionDetailApi(APIView):
    @extend_schema(
        responses={200: DecisionSerializer, **error_responses(errors.DECISION_NOT_FOUND)},
        summary="One of my statements of reasons",
    )
    def get(self, request: Request, decision_id: UUID) -> Response:
        decision = selectors.decision_get_for_affected(user_id=requester_id(request), decision_id=decision_id)
        return Response(DecisionSerializer(decision).data)


class DecisionAppealApi(APIView):
    class InputSerializer(StrictSerializer):
        text = serializers.CharField(max_length=REASON_TEXT_MAX, help_text="Why the decision is wrong")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: AppealSerializer,
            **error_responses(
                BODY_ERRORS,
                errors.DECISION_NOT_FOUND,
                errors.DECISION_NOT_APPEALABLE,
                errors.APPEAL_WINDOW_CLOSED,
                errors.APPEAL_EXISTS,
                errors.REASON_REQUIRED,
            ),
        },
        summary="Appeal a decision about me (once, within the appeal window); another moderator reviews it",
    )
    def post(self, request: Request, decision_id: UUID) -> Response:
        user_id = requester_id(request)
        selectors.decision_get_for_affected(user_id=user_id, decision_id=decision_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appeal = appeals.appeal_file(
            decision_id=decision_id, appellant_id=user_id, text=data.validated_data["text"]
        )
        return Response(AppealSerializer(appeal).data, status=status.HTTP_201_CREATED)


# A banned member cannot sign in: their ban's email carries an appeal code for this endpoint.
class AppealByTokenApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "appeal_token"

    class InputSerializer(StrictSerializer):
        token = serializers.CharField(max_length=500, help_text="The appeal code from the ban's email")
        text = serializers.CharField(max_length=REASON_TEXT_MAX, help_text="Why the decision is wrong")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: AppealSerializer,
            **error_responses(
                BODY_ERRORS,
                errors.APPEAL_TOKEN_INVALID,
                errors.APPEAL_WINDOW_CLOSED,
                errors.APPEAL_EXISTS,
                errors.REASON_REQUIRED,
                RATE_LIMITED,
                public=True,
            ),
        },
        summary="Appeal a ban with the code its email carries (no login: a banned member has none)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decision = appeal_token_read(data.validated_data["token"])
        assert decision.affected_user_id is not None  # appeal_token_read names bans of a member only
        appeal = appeals.appeal_file(
            decision_id=decision.id, appellant_id=decision.affected_user_id, text=data.validated_data["text"]
        )
        return Response(AppealSerializer(appeal).data, status=status.HTTP_201_CREATED)


class EstateRequestSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.CharField()


# A deceased person's estate (no Kino account needed) asks for their likeness to be blocked.
class EstateRequestCreateApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "estate_request"

    class InputSerializer(StrictSerializer):
        person_name = serializers.CharField(max_length=200, help_text="The deceased person")
        aliases = serializers.ListField(
            child=serializers.CharField(max_length=200), max_length=20, required=False, default=list
        )
        roles = serializers.ListField(
            child=serializers.CharField(max_length=200),
            max_length=50,
            required=False,
            default=list,
            help_text="Roles and characters they are known for",
        )
        representative = serializers.CharField(max_length=200, help_text="Who you are, and for whom you act")
        contact_email = serializers.EmailField(max_length=254)
        text = serializers.CharField(max_length=REASON_TEXT_MAX, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={201: EstateRequestSerializer, **error_responses(BODY_ERRORS, RATE_LIMITED, public=True)},
        summary="An estate asks for a deceased person's likeness to be blocked (a moderator checks it)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        made = estate_request_create(**data.validated_data)
        return Response(EstateRequestSerializer(made).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("moderation/estate-requests", EstateRequestCreateApi.as_view(), name="moderation-estate-request"),
    path("moderation/appeals", AppealByTokenApi.as_view(), name="moderation-appeal-by-token"),
    path("reports", ReportCreateApi.as_view(), name="report-create"),
    path("moderation/decisions", DecisionListApi.as_view(), name="moderation-decisions"),
    path("moderation/decisions/<uuid:decision_id>", DecisionDetailApi.as_view(), name="moderation-decision"),
    path(
        "moderation/decisions/<uuid:decision_id>/appeal",
        DecisionAppealApi.as_view(),
        name="moderation-decision-appeal",
    ),
]
