"""Videos: one video, my drafts; posting, editing, unposting, deleting and downloading."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.public import MemberSerializer, member_card
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
from feed import errors, selectors, services
from feed.media import download_url, signed_url
from feed.models import CAPTION_MAX, Video, VideoStats
from feed.share import share_url
from moderation.public import TEXT_PUBLIC_FIGURE, TEXT_REFUSED


class MentionUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField(help_text="The member's name now (a rename keeps the link)")


class MentionSerializer(serializers.Serializer):
    written_as = serializers.CharField(help_text="The name as the text writes it, without the @")
    user = MentionUserSerializer()


class VideoStatsSerializer(serializers.Serializer):
    likes = serializers.IntegerField()
    comments = serializers.IntegerField()
    remixes = serializers.IntegerField(help_text="Direct remixes that are posted")
    descendants = serializers.IntegerField(help_text="Posted remixes at any depth")
    views = serializers.IntegerField()
    shares = serializers.IntegerField()
    downloads = serializers.IntegerField()


_NO_STATS = VideoStats()  # all zeros, for a video written without its counters row


class VideoSerializer(serializers.Serializer):
    """A video card. Feed it `feed.selectors.video_cards(...)` rows (one query for a whole page)."""

    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=Video.State.choices)
    prompt = serializers.CharField()
    caption = serializers.CharField()
    mentions = MentionSerializer(many=True, source="mention_list")
    creator = MemberSerializer(source="owner")
    remix_of = serializers.UUIDField(source="remix_of_id", allow_null=True)
    remix_of_creator = serializers.CharField(
        source="remix_of_username",
        allow_null=True,
        help_text="Username of the parent post's creator; null when the parent is not a post you may see",
    )
    made_as = serializers.ChoiceField(
        choices=Video.MadeAs.choices,
        help_text="How it was made: from a prompt (generation), as a remix or an extension of `remix_of`, "
        "by stitching drafts, or from a storyboard",
    )
    remix_allowed = serializers.BooleanField()
    posted_at = serializers.DateTimeField(allow_null=True)
    stats = VideoStatsSerializer()
    liked_by_me = serializers.BooleanField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    duration_ms = serializers.IntegerField()
    fps = serializers.FloatField()
    has_audio = serializers.BooleanField()
    size_bytes = serializers.IntegerField()
    engine = serializers.CharField()
    generation_id = serializers.UUIDField(source="source_job_id", allow_null=True)
    video_url = serializers.CharField(help_text="Short-lived; supports HTTP range requests")
    poster_url = serializers.CharField()
    urls_expire_in_s = serializers.IntegerField()
    share_url = serializers.URLField(
        allow_null=True,
        help_text="The post's public page (Open Graph tags: unfurls in chat apps); null for a draft",
    )
    created_at = serializers.DateTimeField()

    def to_representation(self, video: Video) -> dict[str, Any]:
        """The card, built by hand: DRF's field-by-field walk (and a nested serializer per row) cost
        most of a page's time; the fields above stay the schema, and the schema tests hold the two
        to the same shape."""
        request = self.context["request"]
        stats = getattr(video, "stats", None) or _NO_STATS
        posted = video.state == Video.State.POSTED
        return {
            "id": str(video.id),
            "state": video.state,
            "prompt": video.prompt,
            "caption": video.caption,
            "mentions": getattr(video, "mention_list", None) or [],
            "creator": member_card(request, video.owner),
            "remix_of": str(video.remix_of_id) if video.remix_of_id else None,
            "remix_of_creator": getattr(video, "remix_of_username", None),
            "made_as": video.made_as,
            "remix_allowed": video.remix_allowed,
            "posted_at": iso(video.posted_at),
            "stats": {name: getattr(stats, name) for name in STATS_FIELDS},
            "liked_by_me": bool(getattr(video, "liked_by_me", False)),
            "width": video.width,
            "height": video.height,
            "duration_ms": video.duration_ms,
            "fps": video.fps,
            "has_audio": video.has_audio,
            "size_bytes": video.size_bytes,
            "engine": video.engine,
            "generation_id": str(video.source_job_id) if video.source_job_id else None,
            "video_url": signed_url(request, video, "video"),
            "poster_url": signed_url(request, video, "poster"),
            "urls_expire_in_s": int(settings.MEDIA_URL_TTL_S),
            "share_url": share_url(request, video.id) if posted else None,
            "created_at": iso(video.created_at),
        }


STATS_FIELDS = tuple(VideoStatsSerializer().fields)


def _card(request: Request, video_id: UUID) -> Response:
    """The video as its viewer sees it now (after a change: fresh counters and mentions)."""
    video = selectors.video_get_for_viewer(viewer_id=requester_id(request), video_id=video_id)
    return Response(VideoSerializer(video, context={"request": request}).data)


CAPTION_HELP = f"At most {CAPTION_MAX} characters; `@username` mentions and notifies that member"


class VideoDetailApi(APIView):
    class UpdateSerializer(StrictSerializer):
        caption = serializers.CharField(max_length=CAPTION_MAX, allow_blank=True, required=False)
        remix_allowed = serializers.BooleanField(required=False)

    @extend_schema(
        responses={200: VideoSerializer, **error_responses(errors.VIDEO_NOT_FOUND)},
        summary="A video I may see, with playable URLs",
    )
    def get(self, request: Request, video_id: UUID) -> Response:
        return _card(request, video_id)

    @extend_schema(
        request=UpdateSerializer,
        responses={
            200: VideoSerializer,
            **error_responses(
                BODY_ERRORS,
                errors.NOTHING_TO_CHANGE,
                TEXT_REFUSED,
                TEXT_PUBLIC_FIGURE,
                errors.VIDEO_NOT_FOUND,
            ),
        },
        summary="Edit my video's caption or whether others may remix it",
    )
    def patch(self, request: Request, video_id: UUID) -> Response:
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.video_update(owner_id=requester_id(request), video_id=video_id, **data.validated_data)
        return _card(request, video_id)

    @extend_schema(
        request=None,
        responses={204: None, **error_responses(errors.VIDEO_NOT_FOUND)},
        summary="Delete my video: its files go; remixes of it show it as deleted",
    )
    def delete(self, request: Request, video_id: UUID) -> Response:
        services.video_delete(owner_id=requester_id(request), video_id=video_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VideoPostApi(APIView):
    class InputSerializer(StrictSerializer):
        caption = serializers.CharField(
            max_length=CAPTION_MAX, allow_blank=True, required=False, help_text=CAPTION_HELP
        )
        remix_allowed = serializers.BooleanField(
            required=False, help_text="Left out: the draft's own setting (true for a new draft)"
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            200: VideoSerializer,
            **error_responses(
                BODY_ERRORS, TEXT_REFUSED, TEXT_PUBLIC_FIGURE, errors.VIDEO_NOT_FOUND, errors.VIDEO_NOT_DRAFT
            ),
        },
        summary="Post my draft: everyone may see it (but those blocked either way)",
    )
    def post(self, request: Request, video_id: UUID) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.video_post(owner_id=requester_id(request), video_id=video_id, **data.validated_data)
        return _card(request, video_id)


class VideoUnpostApi(APIView):
    @extend_schema(
        request=None,
        responses={200: VideoSerializer, **error_responses(errors.VIDEO_NOT_FOUND, errors.VIDEO_NOT_POSTED)},
        summary="Take my post back to my drafts",
    )
    def post(self, request: Request, video_id: UUID) -> Response:
        services.video_unpost(owner_id=requester_id(request), video_id=video_id)
        return _card(request, video_id)


class VideoDownloadApi(APIView):
    class OutputSerializer(serializers.Serializer):
        url = serializers.URLField(help_text="Serves the MP4 as an attachment; short-lived")
        expires_in_s = serializers.IntegerField()

    @extend_schema(
        request=None,
        responses={
            200: OutputSerializer,
            **error_responses(errors.VIDEO_NOT_FOUND, errors.VIDEO_NOT_POSTED),
        },
        summary="A download link for my video or a post I may see (counted)",
    )
    def post(self, request: Request, video_id: UUID) -> Response:
        video = services.video_download(viewer_id=requester_id(request), video_id=video_id)
        link = {"url": download_url(request, video), "expires_in_s": int(settings.MEDIA_URL_TTL_S)}
        return Response(self.OutputSerializer(link).data)


class DraftListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(VideoSerializer), **error_responses(PAGE_ERRORS)},
        summary="My drafts, newest first",
    )
    def get(self, request: Request) -> Response:
        drafts = selectors.drafts_of(owner_id=requester_id(request))
        return page_response(self, request, drafts, VideoSerializer)


urlpatterns = [
    path("videos/<uuid:video_id>", VideoDetailApi.as_view(), name="video-detail"),
    path("videos/<uuid:video_id>/post", VideoPostApi.as_view(), name="video-post"),
    path("videos/<uuid:video_id>/unpost", VideoUnpostApi.as_view(), name="video-unpost"),
    path("videos/<uuid:video_id>/download", VideoDownloadApi.as_view(), name="video-download"),
    path("me/drafts", DraftListApi.as_view(), name="me-drafts"),
]
