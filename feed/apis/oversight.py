"""A cameo owner's oversight: every video that casts their cameo (other people's drafts included),
taking their likeness out of one (the video goes down everywhere), reporting one to the moderators.

Only the cameo's owner reaches these; anyone else gets 404 `cameo_not_found`, as for a cameo that
does not exist.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.public import MemberSerializer, member_card
from cameos.public import CAMEO_NOT_FOUND
from config.api import (
    BODY_ERRORS,
    PAGE_ERRORS,
    StrictSerializer,
    error_responses,
    iso,
    page_response,
    requester_id,
)
from config.errors import RATE_LIMITED, error_code_get
from config.openapi import PAGE_PARAMETERS, page_of
from feed import cameos, errors
from feed.media import signed_url
from feed.models import Video

State = Video.State
# Declared by moderation (imported with moderation.public through feed.cameos): reporting a video
# one made oneself.
REPORT_OWN = error_code_get("report_own")
# What an owner may say about a video casting them (a subset of moderation's report reasons).
REPORT_REASONS = (
    ("cameo_misuse", "Misuses my cameo"),
    ("impersonation", "Uses a real person's likeness"),
    ("sexual", "Sexual content"),
    ("harassment", "Harassment or bullying"),
    ("hate", "Hate"),
    ("violence", "Graphic violence"),
    ("misleading", "Misleading real-world news"),
    ("other", "Something else"),
)
REPORT_TEXT_MAX = 1000


class CastVideoSerializer(serializers.Serializer):
    """A video casting the owner's cameo, as its owner oversees it."""

    id = serializers.UUIDField()
    state = serializers.ChoiceField(
        choices=State.choices,
        help_text="draft (its creator's, not posted), posted, removed (taken down: by you, with the "
        "cameo, or by a moderator) or deleted (by its creator: nothing of it is left)",
    )
    creator = MemberSerializer(help_text="Who made it (shown even if either of you blocked the other)")
    prompt = serializers.CharField(help_text="Empty once its creator deleted it")
    created_at = serializers.DateTimeField(help_text="When it was made")
    posted_at = serializers.DateTimeField(allow_null=True)
    removed_at = serializers.DateTimeField(allow_null=True)
    removed_by_you = serializers.BooleanField(help_text="Taken down because you removed your likeness")
    generation_id = serializers.UUIDField(allow_null=True)
    video_url = serializers.CharField(
        allow_null=True, help_text="Short-lived; null once it is removed or deleted"
    )
    poster_url = serializers.CharField(allow_null=True)
    urls_expire_in_s = serializers.IntegerField()

    def to_representation(self, video: Video) -> dict[str, Any]:
        request = self.context["request"]
        live = video.state in (State.DRAFT, State.POSTED)
        return {
            "id": str(video.id),
            "state": video.state,
            "creator": member_card(request, video.owner),
            "prompt": video.prompt,
            "created_at": iso(video.created_at),
            "posted_at": iso(video.posted_at),
            "removed_at": iso(video.removed_at),
            "removed_by_you": video.state == State.REMOVED and video.removed_reason in cameos.OWNER_REASONS,
            "generation_id": str(video.source_job_id) if video.source_job_id else None,
            "video_url": signed_url(request, video, "video") if live and video.video.name else None,
            "poster_url": signed_url(request, video, "poster") if live and video.poster.name else None,
            "urls_expire_in_s": int(settings.MEDIA_URL_TTL_S),
        }


class CameoVideoListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(CastVideoSerializer), **error_responses(PAGE_ERRORS, CAMEO_NOT_FOUND)},
        summary="Every video that casts my cameo, drafts of other people included, newest first",
    )
    def get(self, request: Request, cameo_id: UUID) -> Response:
        videos = cameos.cameo_videos_for_owner(owner_id=requester_id(request), cameo_id=cameo_id)
        return page_response(self, request, videos, CastVideoSerializer)


def _cast_video(request: Request, cameo_id: UUID, video_id: UUID) -> Response:
    video = (
        cameos.cameo_videos_for_owner(owner_id=requester_id(request), cameo_id=cameo_id)
        .filter(id=video_id)
        .first()
    )
    return Response(CastVideoSerializer(video, context={"request": request}).data)


class CameoVideoRemoveApi(APIView):
    @extend_schema(
        request=None,
        responses={200: CastVideoSerializer, **error_responses(CAMEO_NOT_FOUND, errors.VIDEO_NOT_FOUND)},
        summary="Remove my likeness from a video: it is taken down everywhere (its creator is told); "
        "again harmless",
    )
    def post(self, request: Request, cameo_id: UUID, video_id: UUID) -> Response:
        cameos.likeness_remove(owner_id=requester_id(request), cameo_id=cameo_id, video_id=video_id)
        return _cast_video(request, cameo_id, video_id)


class CameoVideoReportApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "report"

    class InputSerializer(StrictSerializer):
        reason = serializers.ChoiceField(choices=REPORT_REASONS, required=False, default="cameo_misuse")
        text = serializers.CharField(max_length=REPORT_TEXT_MAX, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.Serializer):
        report_id = serializers.UUIDField(help_text="Reporting it again answers the same report")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            **error_responses(BODY_ERRORS, CAMEO_NOT_FOUND, errors.VIDEO_NOT_FOUND, REPORT_OWN, RATE_LIMITED),
        },
        summary="Report a video that casts my cameo to the moderators (taken down or not)",
    )
    def post(self, request: Request, cameo_id: UUID, video_id: UUID) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report_id = cameos.likeness_report(
            owner_id=requester_id(request), cameo_id=cameo_id, video_id=video_id, **data.validated_data
        )
        return Response(self.OutputSerializer({"report_id": report_id}).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("cameos/<uuid:cameo_id>/videos", CameoVideoListApi.as_view(), name="cameo-videos"),
    path(
        "cameos/<uuid:cameo_id>/videos/<uuid:video_id>/remove",
        CameoVideoRemoveApi.as_view(),
        name="cameo-video-remove",
    ),
    path(
        "cameos/<uuid:cameo_id>/videos/<uuid:video_id>/report",
        CameoVideoReportApi.as_view(),
        name="cameo-video-report",
    ),
]
