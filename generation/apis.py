"""HTTP API of generation: ask for a clip, follow it, cancel it."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.public import ACCOUNT_INACTIVE
from cameos.public import (
    CAMEO_CONSENT_REVOKED,
    CAMEO_NOT_FOUND,
    CAMEO_PERMISSION_DENIED,
    CAMEO_RESTRICTION,
    MAX_CAMEOS,
    TOO_MANY_CAMEOS,
)
from config.api import (
    BODY_ERRORS,
    IMAGE_ERRORS,
    PAGE_ERRORS,
    StrictSerializer,
    error_responses,
    page_response,
)
from config.errors import KinoError
from config.openapi import PAGE_PARAMETERS, page_of
from feed.public import REMIX_NOT_ALLOWED, REMIX_OF_DRAFT, VIDEO_NOT_FOUND
from generation import errors, selectors, services
from generation.models import DURATIONS, Job
from moderation.public import (
    LIKENESS_PUBLIC_FIGURE,
    LIKENESS_REAL_PERSON,
    LIKENESS_UNCONSENTED_CAMEO,
    MODERATION_UNAVAILABLE,
    TEXT_PUBLIC_FIGURE,
    TEXT_REFUSED,
)

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_JOB_CODES = [
    error.code
    for error in (
        ACCOUNT_INACTIVE,
        CAMEO_CONSENT_REVOKED,
        LIKENESS_PUBLIC_FIGURE,
        LIKENESS_UNCONSENTED_CAMEO,
        errors.STORAGE_UNAVAILABLE,
        errors.OUT_OF_MEMORY,
        errors.ATTEMPTS_EXHAUSTED,
        errors.INTERNAL_ERROR,
    )
]


class _StageTiming(serializers.Serializer):
    stage = serializers.CharField()
    seconds = serializers.FloatField()


class _JobError(serializers.Serializer):
    code = serializers.CharField(help_text=f"Why the job was blocked or failed: {', '.join(_JOB_CODES)}")
    message = serializers.CharField()


class _Progress(serializers.Serializer):
    step = serializers.IntegerField(help_text="Denoising steps done in this attempt")
    steps = serializers.IntegerField(help_text="Denoising steps in all (0 until the render starts)")
    percent = serializers.IntegerField(min_value=0, max_value=100)
    eta_s = serializers.FloatField(allow_null=True, help_text="Seconds left, while the render runs")


class _Engine(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()


class JobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=Job.State.choices)
    prompt = serializers.CharField()
    duration_s = serializers.IntegerField()
    aspect = serializers.CharField()
    quality = serializers.CharField()
    width = serializers.IntegerField(
        help_text="The clip's width in pixels, in the asked aspect; 0 until the render"
    )
    height = serializers.IntegerField(help_text="The clip's height in pixels; 0 until the render")
    seed = serializers.IntegerField()
    remix_of = serializers.UUIDField(source="remix_of_id", allow_null=True)
    cameos = serializers.ListField(
        child=serializers.CharField(),
        source="cameo_handles",
        help_text="The handles of the cameos cast (the consented ones, as the request named them)",
    )
    has_start_image = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    stage = serializers.CharField(help_text="The pipeline stage the latest attempt is in, or ended in")
    timings = _StageTiming(many=True, help_text="Seconds each stage of the latest attempt took, in order")
    attempts = serializers.IntegerField()
    engine = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    video_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_has_start_image(self, job: Job) -> bool:
        return bool(job.start_image)

    @extend_schema_field(_Progress())
    def get_progress(self, job: Job) -> dict[str, Any]:
        return {"step": job.step, "steps": job.steps, "percent": job.percent, "eta_s": job.eta_s}

    @extend_schema_field(_Engine(allow_null=True, help_text="The engine that made it, once one ran"))
    def get_engine(self, job: Job) -> dict[str, str] | None:
        return {"name": job.engine_name, "version": job.engine_version} if job.engine_name else None

    @extend_schema_field(_JobError(allow_null=True))
    def get_error(self, job: Job) -> dict[str, str] | None:
        return {"code": job.error_code, "message": job.error_message} if job.error_code else None


def _actor(request: Request) -> Any:
    return request.user


class GenerationListCreateApi(APIView):
    class InputSerializer(StrictSerializer):  # JSON bodies, which cannot carry a start image
        prompt = serializers.CharField(max_length=settings.GENERATION_PROMPT_MAX_CHARS, trim_whitespace=True)
        duration_s = serializers.ChoiceField(choices=DURATIONS)
        aspect = serializers.ChoiceField(choices=Job.Aspect.choices, default=Job.Aspect.PORTRAIT)
        quality = serializers.ChoiceField(choices=Job.Quality.choices, default=Job.Quality.STANDARD)
        seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True)
        remix_of = serializers.UUIDField(required=False, allow_null=True)
        cameos = serializers.ListField(
            child=serializers.CharField(max_length=30),
            max_length=10,
            required=False,
            help_text=f"Handles of cameos to cast, besides the prompt's @handles: at most {MAX_CAMEOS} in "
            "all (too_many_cameos); each must be one you may use",
        )

    class UploadSerializer(InputSerializer):  # multipart bodies: the same, and a start image
        start_image = serializers.FileField(required=False, allow_empty_file=False, max_length=255)

    @extend_schema(
        request={"application/json": InputSerializer, "multipart/form-data": UploadSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Repeat a request safely: the same key returns the same job",
            )
        ],
        responses={
            201: JobSerializer,
            200: JobSerializer,
            **error_responses(
                BODY_ERRORS,
                IMAGE_ERRORS,
                errors.PROMPT_EMPTY,
                errors.PROMPT_TOO_LONG,
                TOO_MANY_CAMEOS,
                CAMEO_NOT_FOUND,
                CAMEO_PERMISSION_DENIED,
                CAMEO_RESTRICTION,
                errors.START_IMAGE_UNSUPPORTED,
                TEXT_REFUSED,
                TEXT_PUBLIC_FIGURE,
                LIKENESS_PUBLIC_FIGURE,
                LIKENESS_REAL_PERSON,
                MODERATION_UNAVAILABLE,
                errors.IDEMPOTENCY_KEY_INVALID,
                VIDEO_NOT_FOUND,
                REMIX_OF_DRAFT,
                REMIX_NOT_ALLOWED,
                errors.IDEMPOTENCY_CONFLICT,
                errors.QUOTA_EXCEEDED,
                errors.TOO_MANY_ACTIVE,
            ),
        },
        summary="Ask for a clip (queued; follow it by polling or on the WebSocket)",
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "")
        if key and not IDEMPOTENCY_KEY.fullmatch(key):
            raise KinoError(errors.IDEMPOTENCY_KEY_INVALID)
        multipart = request.content_type.startswith("multipart/")
        data = (self.UploadSerializer if multipart else self.InputSerializer)(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        ask = services.ClipAsk(
            prompt=v["prompt"],
            duration_s=int(v["duration_s"]),
            aspect=v["aspect"],
            quality=v["quality"],
            seed=v.get("seed"),
            start_image=v.get("start_image"),
            remix_of_id=v.get("remix_of"),
            cameo_handles=tuple(v.get("cameos") or ()),
        )
        result = services.generation_enqueue(user_id=_actor(request).id, ask=ask, idempotency_key=key)
        return Response(
            JobSerializer(result.job).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(JobSerializer), **error_responses(PAGE_ERRORS)},
        summary="My generations, newest first",
    )
    def get(self, request: Request) -> Response:
        return page_response(self, request, selectors.jobs_of(owner_id=_actor(request).id), JobSerializer)


class GenerationDetailApi(APIView):
    @extend_schema(
        responses={200: JobSerializer, **error_responses(errors.GENERATION_NOT_FOUND)},
        summary="One generation, with its progress",
    )
    def get(self, request: Request, job_id: UUID) -> Response:
        return Response(
            JobSerializer(selectors.job_get_for_owner(owner_id=_actor(request).id, job_id=job_id)).data
        )

    @extend_schema(
        responses={204: None, **error_responses(errors.GENERATION_NOT_FOUND, errors.JOB_ACTIVE)},
        summary="Forget a finished generation (its draft stays)",
    )
    def delete(self, request: Request, job_id: UUID) -> Response:
        services.generation_delete(
            job=selectors.job_get_for_owner(owner_id=_actor(request).id, job_id=job_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class GenerationCancelApi(APIView):
    @extend_schema(
        request=None,
        responses={200: JobSerializer, **error_responses(errors.GENERATION_NOT_FOUND, errors.JOB_FINISHED)},
        summary="Cancel: a queued job never starts; a running one stops at its next step",
    )
    def post(self, request: Request, job_id: UUID) -> Response:
        job = services.generation_cancel(
            job=selectors.job_get_for_owner(owner_id=_actor(request).id, job_id=job_id)
        )
        return Response(JobSerializer(job).data)
