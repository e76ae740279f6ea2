"""POST /api/v1/provenance/lookup: was this clip or still made in Kino, and which post is it?

Anyone may ask (no account: a journalist, a viewer who found a copy elsewhere), so the endpoint is
throttled per client address (`provenance_lookup`) and its upload is
capped and sniffed (provenance.lookup_query). The answer is one of three verdicts; a match to a video
the public may not see says only "made in Kino".
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.api import BODY_ERRORS, StrictSerializer, error_responses, site_url
from config.errors import RATE_LIMITED
from config.parsers import BoundedMultiPartParser
from provenance import errors
from provenance.lookup_query import LookupAnswer, lookup_answer, lookup_media_read

VERDICT_HELP = (
    "`from_kino`: made in Kino (`post` names it when the public may see it; a draft or a removed post "
    "gives `post: null`); `not_from_kino`: nothing Kino made matches; `inconclusive`: something is "
    "close but neither the pictures nor the sound settle it"
)


class LookupPostSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    handle = serializers.CharField(help_text="The creator's @handle")
    caption = serializers.CharField(allow_blank=True)
    url = serializers.URLField(help_text="The post's public share page")


class LookupSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(
        choices=["from_kino", "not_from_kino", "inconclusive"], help_text=VERDICT_HELP
    )
    made_in_kino = serializers.BooleanField(help_text="True exactly when `verdict` is `from_kino`")
    confidence = serializers.FloatField(
        help_text="0..1: how sure a `from_kino` or `inconclusive` is; 0 otherwise"
    )
    post = LookupPostSerializer(
        allow_null=True,
        help_text="The matched post when anyone may see it; null for drafts and removed posts",
    )
    query_range_s = serializers.ListField(
        child=serializers.FloatField(),
        min_length=2,
        max_length=2,
        allow_null=True,
        help_text="[start, end] seconds of the upload that matched (a still: [0, 0]); null unless from_kino",
    )
    video_range_s = serializers.ListField(
        child=serializers.FloatField(),
        min_length=2,
        max_length=2,
        allow_null=True,
        help_text="[start, end] seconds of the post that matched; null unless `post` is given",
    )
    transforms = serializers.ListField(
        child=serializers.CharField(),
        help_text="What was done to the copy, as far as seen: "
        "mirrored, cropped, scaled, brightness, excerpt, still",
    )


_POST_ID = "0b7e8a52-6f1c-4f55-9f0e-4b8f9d1c2a10"
EXAMPLES = [
    OpenApiExample(
        "A copy of a public post",
        response_only=True,
        value={
            "verdict": "from_kino",
            "made_in_kino": True,
            "confidence": 0.97,
            "post": {
                "id": _POST_ID,
                "handle": "maya",
                "caption": "a red ball bouncing on the beach",
                "url": f"https://kino.example/v/{_POST_ID}",
            },
            "query_range_s": [0.0, 3.0],
            "video_range_s": [0.5, 3.5],
            "transforms": ["mirrored", "scaled", "excerpt"],
        },
    ),
    OpenApiExample(
        "A copy of a draft or a removed post",
        response_only=True,
        value={
            "verdict": "from_kino",
            "made_in_kino": True,
            "confidence": 0.91,
            "post": None,
            "query_range_s": [0.0, 4.0],
            "video_range_s": None,
            "transforms": ["cropped"],
        },
    ),
    OpenApiExample(
        "Not made in Kino",
        response_only=True,
        value={
            "verdict": "not_from_kino",
            "made_in_kino": False,
            "confidence": 0.0,
            "post": None,
            "query_range_s": None,
            "video_range_s": None,
            "transforms": [],
        },
    ),
    OpenApiExample(
        "Close, but not settled",
        response_only=True,
        value={
            "verdict": "inconclusive",
            "made_in_kino": False,
            "confidence": 0.4,
            "post": None,
            "query_range_s": None,
            "video_range_s": None,
            "transforms": [],
        },
    ),
]


def _output(request: Request, answer: LookupAnswer) -> dict[str, Any]:
    post = answer.post
    return {
        "verdict": answer.verdict,
        "made_in_kino": answer.verdict == "from_kino",
        "confidence": answer.confidence,
        "post": None
        if post is None
        else {
            "id": post.video_id,
            "handle": post.username,
            "caption": post.caption,
            "url": site_url(request) + post.share_path,
        },
        "query_range_s": None if answer.query_range_s is None else list(answer.query_range_s),
        "video_range_s": None if answer.video_range_s is None else list(answer.video_range_s),
        "transforms": list(answer.transforms),
    }


class ProvenanceLookupApi(APIView):
    permission_classes = [AllowAny]
    # No authentication: a member's token is not needed and not read (a stale one is no reason to
    # refuse), so the throttle counts per client address for everyone.
    authentication_classes: list[type] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "provenance_lookup"
    parser_classes = [BoundedMultiPartParser]

    class InputSerializer(StrictSerializer):
        file = serializers.FileField(
            allow_empty_file=False,
            max_length=255,
            help_text="The clip (MP4, MOV or WebM, at most "
            f"{settings.PROVENANCE_LOOKUP_MAX_S:g} s and "
            f"{settings.PROVENANCE_LOOKUP_MAX_PIXELS} pixels a frame) "
            f"or a still (JPEG, PNG or WebP, at most {settings.PROVENANCE_LOOKUP_MAX_IMAGE_PIXELS} pixels); "
            f"at most {settings.PROVENANCE_LOOKUP_MAX_BYTES} bytes",
        )

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            200: LookupSerializer,
            **error_responses(
                BODY_ERRORS,
                RATE_LIMITED,
                errors.LOOKUP_MEDIA_INVALID,
                errors.LOOKUP_MEDIA_TOO_LARGE,
                errors.LOOKUP_MEDIA_TOO_LONG,
                errors.LOOKUP_MEDIA_TOO_MANY_PIXELS,
                public=True,
            ),
        },
        examples=EXAMPLES,
        summary="Was this clip or still made in Kino? (anyone may ask; a copy of a draft says only that)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answer = lookup_answer(lookup_media_read(data.validated_data["file"]))
        return Response(LookupSerializer(_output(request, answer)).data, status=status.HTTP_200_OK)
