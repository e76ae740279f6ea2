"""Videos: one video, my drafts; posting, editing, unposting and deleting."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import PAGE_ERRORS, CursorPage, error_responses
from config.openapi import PAGE_PARAMETERS, page_of
from feed import errors, selectors
from feed.media import signed_url
from feed.models import Video


class VideoSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=Video.State.choices)
    prompt = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    duration_ms = serializers.IntegerField()
    fps = serializers.FloatField()
    has_audio = serializers.BooleanField()
    engine = serializers.CharField()
    generation_id = serializers.UUIDField(source="source_job_id", allow_null=True)
    remix_of = serializers.UUIDField(source="remix_of_id", allow_null=True)
    video_url = serializers.SerializerMethodField(help_text="Short-lived; supports HTTP range requests")
    poster_url = serializers.SerializerMethodField()
    urls_expire_in_s = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_video_url(self, video: Video) -> str:
        return signed_url(self.context["request"], video, "video")

    def get_poster_url(self, video: Video) -> str:
        return signed_url(self.context["request"], video, "poster")

    def get_urls_expire_in_s(self, video: Video) -> int:
        return int(settings.MEDIA_URL_TTL_S)


def _viewer_id(request: Request) -> UUID:
    """The authenticated member's id (the default permission, IsAuthenticated, has made sure of one)."""
    assert request.user.id is not None
    return request.user.id


class VideoDetailApi(APIView):
    @extend_schema(
        responses={200: VideoSerializer, **error_responses(errors.VIDEO_NOT_FOUND)},
        summary="A video I may see, with playable URLs",
    )
    def get(self, request: Request, video_id: UUID) -> Response:
        video = selectors.video_get_for_viewer(viewer_id=_viewer_id(request), video_id=video_id)
        return Response(VideoSerializer(video, context={"request": request}).data)


class DraftListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(VideoSerializer), **error_responses(PAGE_ERRORS)},
        summary="My drafts, newest first",
    )
    def get(self, request: Request) -> Response:
        paginator = CursorPage()
        drafts: Any = selectors.drafts_of(owner_id=_viewer_id(request))
        page: list[Video] = paginator.paginate_queryset(drafts, request, view=self) or []
        return paginator.get_paginated_response(
            VideoSerializer(page, many=True, context={"request": request}).data
        )


urlpatterns = [
    path("videos/<uuid:video_id>", VideoDetailApi.as_view(), name="video-detail"),
    path("me/drafts", DraftListApi.as_view(), name="me-drafts"),
]
