"""The For You feed and the following feed: cursor pages over a per-session ranked snapshot."""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import PAGE_ERRORS, CursorPage, error_responses, requester_id
from config.openapi import PAGE_PARAMETERS, page_of
from feed.public import VideoCardSerializer, video_cards_in_order
from recommender import errors
from recommender.apis.steer import CheckInCardSerializer
from recommender.feeds import FeedPage, feed_page


class FeedItemSerializer(serializers.Serializer):
    """One item of a feed page: a video card, or (now and then, after a page's videos) a wellbeing
    check-in card to show in the feed."""

    type = serializers.ChoiceField(choices=["video", "checkin"])
    video = VideoCardSerializer(allow_null=True, help_text="The video when `type` is `video`, else null")
    checkin = CheckInCardSerializer(allow_null=True, help_text="The card when `type` is `checkin`, else null")


FEED_ERRORS = error_responses(PAGE_ERRORS, errors.FEED_DAILY_LIMIT_REACHED)


def _answer(request: Request, page: FeedPage) -> Response:
    """The page as {next, previous, results}. A feed only goes forward (pages 2..n come from the
    session's snapshot, and a page served is logged as seen): `previous` is always null."""
    viewer_id = requester_id(request)
    cards = video_cards_in_order(request, viewer_id=viewer_id, video_ids=[i.video_id for i in page.items])
    results: list[dict[str, Any]] = [{"type": "video", "video": card, "checkin": None} for card in cards]
    if page.checkin is not None:
        results.append({"type": "checkin", "video": None, "checkin": page.checkin})
    next_url = None
    if page.next_cursor is not None:
        next_url = request.build_absolute_uri(request.path) + "?" + _query(request, page.next_cursor)
    return Response({"next": next_url, "previous": None, "results": results})


def _query(request: Request, cursor: str) -> str:
    query = request.query_params.copy()
    query["cursor"] = cursor
    return str(query.urlencode())


def _page(request: Request, *, following: bool) -> Response:
    cursor = request.query_params.get("cursor") or None
    # `limit` reads as every list's does (DRF's: a bad value is the default, a large one the maximum).
    limit = CursorPage().get_page_size(request)
    page = feed_page(
        requester_id(request),
        cursor=cursor,
        following=following,
        limit=limit,
        is_teen=getattr(request.user, "is_teen", None),
    )
    return _answer(request, page)


class ForYouFeedApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(FeedItemSerializer), **FEED_ERRORS},
        summary="For You: videos ranked for me (pages 2..n continue the same ranked session)",
    )
    def get(self, request: Request) -> Response:
        return _page(request, following=False)


class FollowingFeedApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(FeedItemSerializer), **FEED_ERRORS},
        summary="Posts of the people I follow, newest first (never the same creator twice in a row)",
    )
    def get(self, request: Request) -> Response:
        return _page(request, following=True)


urlpatterns = [
    path("feed", ForYouFeedApi.as_view(), name="feed"),
    path("feed/following", FollowingFeedApi.as_view(), name="feed-following"),
]
