"""HTTP API of my feed's topics: `GET|PUT /feed/topics` (what a new member likes; the feed starts
there until they have interactions of their own, see `recommender.interests`)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import BODY_ERRORS, StrictSerializer, error_responses, requester_id
from recommender import errors, interests
from recommender.models import TOPIC_MAX, TOPICS_MAX


class TopicsSerializer(serializers.Serializer):
    topics = serializers.ListField(child=serializers.CharField(), help_text="As stored: trimmed, no repeats")


class FeedTopicsApi(APIView):
    class InputSerializer(StrictSerializer):
        topics = serializers.ListField(
            child=serializers.CharField(allow_blank=True, trim_whitespace=False),
            help_text=f"Up to {TOPICS_MAX} words or phrases of 1-{TOPIC_MAX} characters; [] clears them",
        )

    @extend_schema(responses={200: TopicsSerializer, **error_responses()}, summary="My feed's topics")
    def get(self, request: Request) -> Response:
        return Response({"topics": interests.topics_of(requester_id(request))})

    @extend_schema(
        request=InputSerializer,
        responses={200: TopicsSerializer, **error_responses(BODY_ERRORS, errors.TOPICS_INVALID)},
        summary="Set my feed's topics (they start a new member's feed; interactions take over)",
    )
    def put(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        topics = interests.topics_set(user_id=requester_id(request), topics=data.validated_data["topics"])
        return Response({"topics": topics})


urlpatterns = [path("feed/topics", FeedTopicsApi.as_view(), name="feed-topics")]
