"""HTTP API of cameo registration: start (the challenge), upload, follow, ask for a review.

A registration is its owner's alone: anyone else's id answers 404 `registration_not_found`.
The upload answers 202 at once (`queued`); the checks run in a worker, which reports its stage and
progress on the WebSocket (`cameo.registration`) and in GET .../registrations/{id}.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cameos import errors
from cameos.models import Cameo, Registration
from cameos.registration import selectors, services
from config.api import (
    BODY_ERRORS,
    PAGE_ERRORS,
    StrictSerializer,
    error_responses,
    page_response,
    requester_id,
)
from config.openapi import PAGE_PARAMETERS, page_of
from config.parsers import BoundedJSONParser, BoundedMultiPartParser
from moderation.public import MODERATION_UNAVAILABLE, TEXT_PUBLIC_FIGURE, TEXT_REFUSED

_PROCESSING_CODES = [
    error.code
    for error in (
        errors.NO_FACE,
        errors.SEVERAL_FACES,
        errors.FACE_CHANGED,
        errors.LIVENESS_FAILED,
        errors.NO_SPEECH,
        errors.PHRASE_MISMATCH,
        errors.PUBLIC_FIGURE_BLOCKED,
        errors.LIKENESS_ALREADY_REGISTERED,
        errors.HUMAN_FACE_IN_CHARACTER,
        errors.UPLOAD_INVALID,
        errors.CAMEO_EXISTS,
        errors.HANDLE_TAKEN,
        errors.CHALLENGE_EXPIRED,
        MODERATION_UNAVAILABLE,
    )
]


class ChallengeSerializer(serializers.Serializer):
    head_turns = serializers.ListField(
        child=serializers.ChoiceField(choices=["left", "right"]),
        help_text="Turn the head this way, then that (your own left and right), starting facing the camera",
    )
    phrase = serializers.CharField(
        help_text='Digits to read aloud, in order ("4 7 2 9 1"); "" for characters'
    )
    expires_at = serializers.DateTimeField(help_text="Upload before this")


class RegistrationFailureSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=f"Why it failed: {', '.join(_PROCESSING_CODES)}")
    message = serializers.CharField()


class RegistrationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=Cameo.Kind.choices)
    state = serializers.SerializerMethodField()
    stage = serializers.CharField(help_text="The check running now, or the last one run")
    progress = serializers.IntegerField(min_value=0, max_value=100)
    challenge = serializers.SerializerMethodField()
    handle = serializers.CharField(help_text="Characters: the handle it will have")
    display_name = serializers.CharField()
    personality = serializers.CharField()
    error = serializers.SerializerMethodField()
    conflict_cameo_id = serializers.UUIDField(
        allow_null=True, help_text="likeness_already_registered: the cameo it matched (ask for a review)"
    )
    review_requested = serializers.BooleanField()
    cameo_id = serializers.UUIDField(allow_null=True, help_text="The cameo made, once it succeeded")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.ChoiceField(choices=Registration.State.choices))
    def get_state(self, registration: Registration) -> str:
        expired = (
            registration.state == Registration.State.CHALLENGED and registration.expires_at <= timezone.now()
        )
        return Registration.State.EXPIRED if expired else registration.state

    @extend_schema_field(ChallengeSerializer())
    def get_challenge(self, registration: Registration) -> dict[str, Any]:
        return {
            "head_turns": list(registration.head_turns),
            "phrase": registration.phrase,
            "expires_at": serializers.DateTimeField().to_representation(registration.expires_at),
        }

    @extend_schema_field(RegistrationFailureSerializer(allow_null=True))
    def get_error(self, registration: Registration) -> dict[str, str] | None:
        if not registration.error_code:
            return None
        return {"code": registration.error_code, "message": registration.error_message}


class RegistrationListCreateApi(APIView):
    class InputSerializer(StrictSerializer):
        kind = serializers.ChoiceField(choices=Cameo.Kind.choices, default=Cameo.Kind.PERSON)
        handle = serializers.CharField(max_length=31, required=False, default="", allow_blank=True)
        display_name = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)
        personality = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: RegistrationSerializer,
            **error_responses(
                BODY_ERRORS,
                errors.CAMEO_EXISTS,
                errors.HANDLE_TAKEN,
                errors.HANDLE_INVALID,
                TEXT_REFUSED,
                TEXT_PUBLIC_FIGURE,
                MODERATION_UNAVAILABLE,
            ),
        },
        summary="Start registering a cameo: the challenge to film (head turns and digits)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        registration = services.registration_start(
            owner_id=requester_id(request),
            kind=v["kind"],
            handle=v["handle"],
            display_name=v["display_name"],
            personality=v["personality"],
        )
        return Response(RegistrationSerializer(registration).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(RegistrationSerializer), **error_responses(PAGE_ERRORS)},
        summary="My cameo registrations, newest first",
    )
    def get(self, request: Request) -> Response:
        rows = selectors.registrations_of(owner_id=requester_id(request))
        return page_response(self, request, rows, RegistrationSerializer)


class RegistrationDetailApi(APIView):
    @extend_schema(
        responses={200: RegistrationSerializer, **error_responses(errors.REGISTRATION_NOT_FOUND)},
        summary="One of my registrations: its state, stage and progress, or why it failed",
    )
    def get(self, request: Request, registration_id: UUID) -> Response:
        registration = selectors.registration_get_for_owner(
            owner_id=requester_id(request), registration_id=registration_id
        )
        return Response(RegistrationSerializer(registration).data)


class RegistrationUploadApi(APIView):
    parser_classes = [BoundedMultiPartParser, BoundedJSONParser]

    class InputSerializer(StrictSerializer):
        video = serializers.FileField(
            required=False,
            allow_empty_file=False,
            max_length=255,
            help_text="The selfie (people) or a short clip (characters): MP4, MOV or WebM, "
            f"{settings.CAMEO_VIDEO_MIN_S:g}-{settings.CAMEO_VIDEO_MAX_S:g} s",
        )
        voice = serializers.FileField(
            required=False,
            allow_empty_file=False,
            max_length=255,
            help_text="People: the digits read in a separate recording (WAV, MP3, M4A, WebM), "
            "instead of the video's own sound",
        )
        photos = serializers.ListField(
            child=serializers.FileField(allow_empty_file=False, max_length=255),
            required=False,
            max_length=settings.CAMEO_PHOTOS_MAX,
            help_text="Characters: 1-5 photos (JPEG, PNG or WebP) instead of a clip",
        )

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            202: RegistrationSerializer,
            **error_responses(
                BODY_ERRORS,
                errors.UPLOAD_INVALID,
                errors.DURATION_OUT_OF_RANGE,
                errors.UPLOAD_TOO_LARGE,
                errors.REGISTRATION_NOT_FOUND,
                errors.REGISTRATION_STATE,
                errors.CHALLENGE_EXPIRED,
            ),
        },
        summary="Upload the selfie (or a character's clip or photos): checked in a worker (202, queued)",
    )
    def post(self, request: Request, registration_id: UUID) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        upload = services.Upload(
            video=v.get("video"), voice=v.get("voice"), photos=tuple(v.get("photos") or ())
        )
        registration = services.registration_upload(
            owner_id=requester_id(request), registration_id=registration_id, upload=upload
        )
        return Response(RegistrationSerializer(registration).data, status=status.HTTP_202_ACCEPTED)


class RegistrationReviewApi(APIView):
    class OutputSerializer(serializers.Serializer):
        report_id = serializers.UUIDField(help_text="The report filed with the moderators")
        registration = RegistrationSerializer()

    @extend_schema(
        request=None,
        responses={
            200: OutputSerializer,
            **error_responses(errors.REGISTRATION_NOT_FOUND, errors.REVIEW_NOT_APPLICABLE),
        },
        summary="Refused as already registered but it is your likeness: ask the moderators to review",
    )
    def post(self, request: Request, registration_id: UUID) -> Response:
        owner_id = requester_id(request)
        report_id = services.registration_review(owner_id=owner_id, registration_id=registration_id)
        registration = selectors.registration_get_for_owner(
            owner_id=owner_id, registration_id=registration_id
        )
        return Response(self.OutputSerializer({"report_id": report_id, "registration": registration}).data)
