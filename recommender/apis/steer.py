"""HTTP API of steering, check-ins and limits: `PUT|GET|DELETE /feed/steer`,
`POST /feed/checkins/{id}/answer`, `GET /feed/limits` (a teen's cap and their guardian's switches).

"See less like this" has no endpoint of its own: the client sends the `see_less` view event
(`POST /events`), which feed hands to `steering.see_less_record` once stored; `GET /feed/steer`
shows its effect and `DELETE` undoes it with the rest.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.public import MemberSerializer, member_card, members_for_viewer
from config.api import BODY_ERRORS, StrictSerializer, error_responses, iso, requester_id
from moderation.public import MODERATION_UNAVAILABLE, TEXT_PUBLIC_FIGURE, TEXT_REFUSED
from recommender import errors, steering, teens, wellbeing
from recommender.models import STEER_TEXT_MAX, SteerClause

TEXT_ERRORS = (TEXT_REFUSED, TEXT_PUBLIC_FIGURE, MODERATION_UNAVAILABLE)


class _ClauseSerializer(serializers.Serializer):
    text = serializers.CharField(help_text='A clause of the instruction, without its marker ("horror")')
    direction = serializers.ChoiceField(choices=SteerClause.Direction.choices)
    # DRF's Field has a `source` attribute; the metaclass takes this one as the field named "source".
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=SteerClause.Source.choices, help_text="`instruction` (PUT) or `checkin` (a check-in's answer)"
    )
    expires_at = serializers.DateTimeField(allow_null=True, help_text="Null: until changed or reset")


class _SeeLessSerializer(serializers.Serializer):
    video_id = serializers.UUIDField()
    creator = MemberSerializer(allow_null=True, help_text="Null when the creator is no longer visible")
    created_at = serializers.DateTimeField()


class SteerStateSerializer(serializers.Serializer):
    """What steers my feed now."""

    text = serializers.CharField(allow_null=True, help_text="My instruction as I wrote it, or null")
    updated_at = serializers.DateTimeField(allow_null=True)
    clauses = _ClauseSerializer(many=True, help_text="Each part in force, toward or away")
    see_less = _SeeLessSerializer(many=True, help_text="Videos I asked to see less of, latest first")
    muted_creators = MemberSerializer(many=True, help_text="Their posts are left out of my feed for now")


def _state_response(request: Request, state: steering.SteerState) -> Response:
    creators = members_for_viewer(
        user_ids={s.creator_id for s in state.see_less}, viewer_id=requester_id(request)
    )
    cards = {member_id: member_card(request, member) for member_id, member in creators.items()}
    muted = list(dict.fromkeys(s.creator_id for s in state.see_less if s.creator_id in cards))
    body: dict[str, Any] = {
        "text": state.text,
        "updated_at": iso(state.updated_at),
        "clauses": [
            {"text": c.text, "direction": c.direction, "source": c.source, "expires_at": iso(c.expires_at)}
            for c in state.clauses
        ],
        "see_less": [
            {"video_id": str(s.video_id), "creator": cards.get(s.creator_id), "created_at": iso(s.created_at)}
            for s in state.see_less
        ],
        "muted_creators": [cards[creator_id] for creator_id in muted],
    }
    return Response(body)


class FeedSteerApi(APIView):
    class InputSerializer(StrictSerializer):
        text = serializers.CharField(
            max_length=STEER_TEXT_MAX,
            help_text='Plain words: "more cooking, less horror". Clauses starting with less, fewer, no, '
            "not, without or avoid steer away; the others toward. Replaces my instruction.",
        )

    @extend_schema(
        responses={200: SteerStateSerializer, **error_responses()},
        summary="What steers my feed: my instruction, check-in answers, videos I asked to see less of",
    )
    def get(self, request: Request) -> Response:
        return _state_response(request, steering.steer_state(user_id=requester_id(request)))

    @extend_schema(
        request=InputSerializer,
        responses={
            200: SteerStateSerializer,
            **error_responses(BODY_ERRORS, errors.STEER_EMPTY, TEXT_ERRORS),
        },
        summary="Steer my feed in plain words (the next first page follows it)",
    )
    def put(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        state = steering.steer_set(user_id=requester_id(request), text=data.validated_data["text"])
        return _state_response(request, state)

    @extend_schema(
        request=None,
        responses={204: None, **error_responses()},
        summary="Reset: drop my instruction, check-in answers and see-less videos",
    )
    def delete(self, request: Request) -> Response:
        steering.steer_reset(user_id=requester_id(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class FeedLimitsApi(APIView):
    class OutputSerializer(serializers.Serializer):
        is_teen = serializers.BooleanField()
        daily_items = serializers.IntegerField(allow_null=True, help_text="Feed items a day; null: no cap")
        items_left_today = serializers.IntegerField(
            allow_null=True, help_text="0: the feed answers 429 feed_daily_limit_reached until tomorrow"
        )
        personalisation_off = serializers.BooleanField(help_text="Set by my guardian")
        continuous_scroll_off = serializers.BooleanField(help_text="Set by my guardian")

    @extend_schema(
        responses={200: OutputSerializer, **error_responses()},
        summary="How my feed is limited: a teen's daily items and what is left today, my guardian's switches",
    )
    def get(self, request: Request) -> Response:
        policy = teens.teen_policy(requester_id(request))
        return Response(
            {
                "is_teen": policy.is_teen,
                "daily_items": teens.daily_items() if policy.is_teen else None,
                "items_left_today": policy.items_left_today,
                "personalisation_off": policy.personalisation_off,
                "continuous_scroll_off": policy.continuous_scroll_off,
            }
        )


class _AnswerChoiceSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=list(wellbeing.ANSWERS), help_text="What to send back")
    label = serializers.CharField()  # type: ignore[assignment]  # the field named "label", as `source` above


class CheckInCardSerializer(serializers.Serializer):
    """A wellbeing check-in card, as the feed offers it with a page (`wellbeing.checkin_card`)."""

    id = serializers.UUIDField()
    question = serializers.CharField()
    answers = _AnswerChoiceSerializer(many=True)
    shown_at = serializers.DateTimeField()


class CheckInAnswerApi(APIView):
    class InputSerializer(StrictSerializer):
        # Text checked against the card's values (not a ChoiceField: StrictSerializer holds text
        # fields to JSON strings, so `0` is refused rather than read as "0").
        answer = serializers.CharField(max_length=20, help_text="One of the card's `answers[].value`")

        def validate_answer(self, value: str) -> str:
            if value not in wellbeing.ANSWERS:
                raise serializers.ValidationError(
                    f"Not one of {', '.join(wellbeing.ANSWERS)}.", code="invalid_choice"
                )
            return value

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        answer = serializers.ChoiceField(choices=list(wellbeing.ANSWERS))
        answered_at = serializers.DateTimeField()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(BODY_ERRORS, errors.CHECKIN_NOT_FOUND, errors.CHECKIN_ANSWERED),
        },
        summary="Answer a check-in card (once); some answers steer my feed for a few hours",
    )
    def post(self, request: Request, checkin_id: UUID) -> Response:
        user_id = requester_id(request)
        wellbeing.checkin_get_for_member(user_id=user_id, checkin_id=checkin_id)  # 404 before any 400
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        checkin = wellbeing.checkin_answer(
            user_id=user_id, checkin_id=checkin_id, answer=data.validated_data["answer"]
        )
        return Response(
            {"id": str(checkin.id), "answer": checkin.answer, "answered_at": iso(checkin.answered_at)}
        )


urlpatterns = [
    path("feed/steer", FeedSteerApi.as_view(), name="feed-steer"),
    path("feed/limits", FeedLimitsApi.as_view(), name="feed-limits"),
    path("feed/checkins/<uuid:checkin_id>/answer", CheckInAnswerApi.as_view(), name="feed-checkin-answer"),
]
