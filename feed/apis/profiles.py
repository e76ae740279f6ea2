"""A member's profile grids: their posts, their remixes, and the posts they appear in as a cameo."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.public import USER_NOT_FOUND
from config.api import PAGE_ERRORS, CursorPage, error_responses, page_response, requester_id
from config.openapi import PAGE_PARAMETERS, page_of
from feed import selectors
from feed.apis.videos import VideoSerializer
from feed.models import Video


class PostedPage(CursorPage):
    """Newest post first: a video posted again comes back to the top of its creator's grid."""

    ordering = ("-posted_at", "-id")


def _grid(
    view: APIView,
    request: Request,
    username: str,
    select: Callable[..., QuerySet[Video]],
) -> Response:
    videos = select(viewer_id=requester_id(request), username=username)
    return page_response(view, request, videos, VideoSerializer, paginator=PostedPage())


PROFILE_ERRORS = error_responses(PAGE_ERRORS, USER_NOT_FOUND)


class ProfilePostsApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(VideoSerializer), **PROFILE_ERRORS},
        summary="A member's posts, newest first",
    )
    def get(self, request: Request, username: str) -> Response:
        return _grid(self, request, username, selectors.profile_posts)


class ProfileRemixesApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(VideoSerializer), **PROFILE_ERRORS},
        summary="A member's posts that remix another post, newest first",
    )
    def get(self, request: Request, username: str) -> Response:
        return _grid(self, request, username, selectors.profile_remixes)


class ProfileCameosApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(VideoSerializer), **PROFILE_ERRORS},
        summary="Posts a member appears in as a cameo, newest first",
    )
    def get(self, request: Request, username: str) -> Response:
        return _grid(self, request, username, selectors.profile_cameos)


urlpatterns = [
    path("users/<str:username>/posts", ProfilePostsApi.as_view(), name="user-posts"),
    path("users/<str:username>/remixes", ProfileRemixesApi.as_view(), name="user-remixes"),
    path("users/<str:username>/cameos", ProfileCameosApi.as_view(), name="user-cameos"),
]
