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
from rest_framework.throttling import ScopedRateThrottle
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
from config.errors import RATE_LIMITED, KinoError
from config.openapi import PAGE_PARAMETERS, page_of
from feed.public import REMIX_NOT_ALLOWED, REMIX_OF_DRAFT, VIDEO_NOT_FOUND
from generation import errors, selectors, services, storyboards
from generation.models import PARTS_MAX, PARTS_MIN, SHOTS_MAX, Job
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
        errors.DURATION_UNSUPPORTED,
        errors.EXTEND_SOURCE_GONE,
        errors.STITCH_PART_GONE,
    )
]


class _StageTiming(serializers.Serializer):
    stage = serializers.CharField()
    seconds = serializers.FloatField()


class _JobError(serializers.Serializer):
    code = serializers.CharField(help_text=f"Why the job was blocked or failed: {', '.join(_JOB_CODES)}")
    message = serializers.CharField()


class _Progress(serializers.Serializer):
    step = serializers.IntegerField(
        help_text="Denoising steps done in this attempt, over all windows and shots (a stitch: parts joined)"
    )
    steps = serializers.IntegerField(help_text="Denoising steps in all (0 until the render starts)")
    shot = serializers.IntegerField(
        allow_null=True, help_text="The storyboard shot (or stitch part) being made, from 1; else null"
    )
    percent = serializers.IntegerField(min_value=0, max_value=100)
    eta_s = serializers.FloatField(allow_null=True, help_text="Seconds left, while the render runs")


class _Shot(serializers.Serializer):
    prompt = serializers.CharField()
    duration_s = serializers.IntegerField()
    cameos = serializers.ListField(child=serializers.CharField(), help_text="The handles cast in this shot")
    enhanced_prompt = serializers.CharField(
        required=False, help_text="What the engine was given for this shot, once the enhance stage ran"
    )
    unmapped = serializers.ListField(child=serializers.CharField(), required=False)


class _Engine(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()


class JobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(
        choices=Job.Kind.choices,
        help_text="generation (a remix too), extension, stitch (drafts joined) or storyboard",
    )
    state = serializers.ChoiceField(choices=Job.State.choices)
    prompt = serializers.CharField(help_text="As typed (a storyboard: its shots' prompts, one per line)")
    enhance = serializers.BooleanField(help_text="Whether the prompt is enhanced before rendering")
    enhanced_prompt = serializers.CharField(
        allow_null=True,
        help_text="What the engine is given (the prompt enhanced into the caption form its model was "
        "trained on), once the enhance stage ran; null before, and when not enhanced",
    )
    unmapped = serializers.ListField(
        child=serializers.CharField(),
        help_text="Words of the prompt the enhancer could not map onto what the model knows",
    )
    enhancer = serializers.CharField(allow_blank=True, help_text="Which enhancer ran (blank: none yet)")
    duration_s = serializers.IntegerField()
    aspect = serializers.CharField()
    quality = serializers.CharField()
    width = serializers.IntegerField(
        help_text="The clip's width in pixels, in the asked aspect; 0 until the render"
    )
    height = serializers.IntegerField(help_text="The clip's height in pixels; 0 until the render")
    seed = serializers.IntegerField()
    remix_of = serializers.UUIDField(source="remix_of_id", allow_null=True)
    extend_of = serializers.UUIDField(source="extend_of_id", allow_null=True)
    shots = _Shot(many=True, help_text="A storyboard's shots, in order ([] for other kinds)")
    parts = serializers.ListField(
        child=serializers.UUIDField(), help_text="A stitch's videos, in the order joined ([] for other kinds)"
    )
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

    def to_representation(self, job: Job) -> dict[str, Any]:
        data = super().to_representation(job)
        data["enhanced_prompt"] = job.enhanced_prompt or None
        return data

    def get_has_start_image(self, job: Job) -> bool:
        return bool(job.start_image)

    @extend_schema_field(_Progress())
    def get_progress(self, job: Job) -> dict[str, Any]:
        return {
            "step": job.step,
            "steps": job.steps,
            "shot": job.shot or None,
            "percent": job.percent,
            "eta_s": job.eta_s,
        }

    @extend_schema_field(_Engine(allow_null=True, help_text="The engine that made it, once one ran"))
    def get_engine(self, job: Job) -> dict[str, str] | None:
        return {"name": job.engine_name, "version": job.engine_version} if job.engine_name else None

    @extend_schema_field(_JobError(allow_null=True))
    def get_error(self, job: Job) -> dict[str, str] | None:
        return {"code": job.error_code, "message": job.error_message} if job.error_code else None


def _actor(request: Request) -> Any:
    return request.user


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "")
    if key and not IDEMPOTENCY_KEY.fullmatch(key):
        raise KinoError(errors.IDEMPOTENCY_KEY_INVALID)
    return key


def _enqueued(result: services.EnqueueResult) -> Response:
    return Response(
        JobSerializer(result.job).data,
        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
    )


def _prompt_field() -> serializers.CharField:
    return serializers.CharField(max_length=settings.GENERATION_PROMPT_MAX_CHARS, trim_whitespace=True)


def _duration_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=settings.GENERATION_DURATIONS,
        help_text="Seconds; your tier caps it (duration_over_tier), and so may the engine "
        "(duration_unsupported). The quota counts seconds of video",
    )


CAST_HELP = (
    f"Handles of cameos to cast, besides the prompt's @handles: at most {MAX_CAMEOS} in all "
    "(too_many_cameos); each must be one you may use"
)


def _cameos_field(help_text: str = CAST_HELP) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=30), max_length=10, required=False, help_text=help_text
    )


def _enhance_field() -> serializers.BooleanField:
    return serializers.BooleanField(
        default=True,
        help_text="Enhance the prompt into the caption form the engine's model was trained on before "
        "rendering (the job shows it as enhanced_prompt); false: the engine gets it as typed",
    )


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Repeat a request safely: the same key returns the same job",
)


# What asks for clips share among their refusals: the cast, the queue, the length.
_CONSENT_ERRORS = (TOO_MANY_CAMEOS, CAMEO_NOT_FOUND, CAMEO_PERMISSION_DENIED, CAMEO_RESTRICTION)
_QUEUE_ERRORS = (
    errors.IDEMPOTENCY_KEY_INVALID,
    errors.IDEMPOTENCY_CONFLICT,
    errors.QUOTA_EXCEEDED,
    errors.TOO_MANY_ACTIVE,
)
_LENGTH_ERRORS = (errors.DURATION_OVER_TIER, errors.DURATION_UNSUPPORTED)


class GenerationListCreateApi(APIView):
    class InputSerializer(StrictSerializer):  # JSON bodies, which cannot carry a start image
        prompt = _prompt_field()
        duration_s = _duration_field()
        aspect = serializers.ChoiceField(choices=Job.Aspect.choices, default=Job.Aspect.PORTRAIT)
        quality = serializers.ChoiceField(choices=Job.Quality.choices, default=Job.Quality.STANDARD)
        seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True)
        remix_of = serializers.UUIDField(required=False, allow_null=True)
        extend_of = serializers.UUIDField(
            required=False,
            allow_null=True,
            help_text="Extend this video (yours, or a post that allows remixing): the clip goes on from "
            "its last frames and sound, and its lineage names it as an extension",
        )
        cameos = _cameos_field()
        enhance = _enhance_field()

    class UploadSerializer(InputSerializer):  # multipart bodies: the same, and a start image
        start_image = serializers.FileField(required=False, allow_empty_file=False, max_length=255)

    @extend_schema(
        request={"application/json": InputSerializer, "multipart/form-data": UploadSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: JobSerializer,
            200: JobSerializer,
            **error_responses(
                BODY_ERRORS,
                IMAGE_ERRORS,
                errors.PROMPT_EMPTY,
                errors.PROMPT_TOO_LONG,
                *_CONSENT_ERRORS,
                errors.START_IMAGE_UNSUPPORTED,
                TEXT_REFUSED,
                TEXT_PUBLIC_FIGURE,
                LIKENESS_PUBLIC_FIGURE,
                LIKENESS_REAL_PERSON,
                MODERATION_UNAVAILABLE,
                VIDEO_NOT_FOUND,
                REMIX_OF_DRAFT,
                REMIX_NOT_ALLOWED,
                *_QUEUE_ERRORS,
                *_LENGTH_ERRORS,
                errors.EXTEND_UNSUPPORTED,
                errors.EXTEND_AND_REMIX,
            ),
        },
        summary="Ask for a clip, a remix or an extension (queued; follow it by polling or on the WebSocket)",
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
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
            extend_of_id=v.get("extend_of"),
            cameo_handles=tuple(v.get("cameos") or ()),
            enhance=v["enhance"],
        )
        return _enqueued(
            services.generation_enqueue(user_id=_actor(request).id, ask=ask, idempotency_key=key)
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


class GenerationEnhanceApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "generation_enhance"

    class InputSerializer(StrictSerializer):
        prompt = _prompt_field()
        cameos = _cameos_field(
            help_text="Cameos whose preferences are merged into the caption (where the "
            "engine reads them); ones you may not use are left out"
        )

    class OutputSerializer(serializers.Serializer):
        prompt = serializers.CharField(help_text="As typed")
        enhanced_prompt = serializers.CharField(help_text="What the engine would be given")
        unmapped = serializers.ListField(
            child=serializers.CharField(),
            help_text="Words the enhancer could not map onto what the model knows (never silently dropped)",
        )
        enhancer = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(
                BODY_ERRORS,
                errors.PROMPT_EMPTY,
                errors.PROMPT_TOO_LONG,
                TEXT_REFUSED,
                TEXT_PUBLIC_FIGURE,
                RATE_LIMITED,
            ),
        },
        summary="Preview a prompt's enhancement (no quota spent, nothing queued)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        enhanced = services.enhance_preview(
            user_id=_actor(request).id, prompt=v["prompt"], cameo_handles=tuple(v.get("cameos") or ())
        )
        return Response(
            {
                "prompt": v["prompt"],
                "enhanced_prompt": enhanced.caption,
                "unmapped": list(enhanced.unmapped),
                "enhancer": enhanced.enhancer,
            }
        )


class _ShotInput(StrictSerializer):
    prompt = _prompt_field()
    duration_s = _duration_field()
    cameos = _cameos_field()


class GenerationStoryboardApi(APIView):
    class InputSerializer(StrictSerializer):
        shots = _ShotInput(
            many=True,
            min_length=1,  # type: ignore[call-arg]  # ListSerializer takes them; the stubs lag
            max_length=SHOTS_MAX,
            help_text=f"1 to {SHOTS_MAX} shots, rendered in order and joined into one clip; an object "
            "named in several shots stays the same across them where the engine can",
        )
        aspect = serializers.ChoiceField(choices=Job.Aspect.choices, default=Job.Aspect.PORTRAIT)
        quality = serializers.ChoiceField(choices=Job.Quality.choices, default=Job.Quality.STANDARD)
        seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True)
        enhance = _enhance_field()

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: JobSerializer,
            200: JobSerializer,
            **error_responses(
                BODY_ERRORS,
                errors.PROMPT_EMPTY,
                errors.PROMPT_TOO_LONG,
                TEXT_REFUSED,
                TEXT_PUBLIC_FIGURE,
                *_CONSENT_ERRORS,
                *_LENGTH_ERRORS,
                errors.STORYBOARD_TOO_LONG,
                *_QUEUE_ERRORS,
            ),
        },
        summary="Ask for a storyboard: shots rendered one after another into one draft (per-shot progress)",
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        ask = storyboards.StoryboardAsk(
            shots=tuple(
                storyboards.Shot(
                    prompt=shot["prompt"],
                    duration_s=int(shot["duration_s"]),
                    cameo_handles=tuple(shot.get("cameos") or ()),
                )
                for shot in v["shots"]
            ),
            aspect=v["aspect"],
            quality=v["quality"],
            seed=v.get("seed"),
            enhance=v["enhance"],
        )
        return _enqueued(
            storyboards.storyboard_enqueue(user_id=_actor(request).id, ask=ask, idempotency_key=key)
        )


class GenerationStitchApi(APIView):
    class InputSerializer(StrictSerializer):
        drafts = serializers.ListField(
            child=serializers.UUIDField(),
            min_length=PARTS_MIN,
            max_length=PARTS_MAX,
            help_text=f"{PARTS_MIN} to {PARTS_MAX} of your videos (drafts, or posts), in the order they "
            "play; the cameos cast in them are cast again (their consent is asked now)",
        )

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: JobSerializer,
            200: JobSerializer,
            **error_responses(
                BODY_ERRORS, VIDEO_NOT_FOUND, errors.STITCH_TOO_LONG, *_CONSENT_ERRORS, *_QUEUE_ERRORS
            ),
        },
        summary="Stitch drafts into one (cuts with short sound fades), as a job with progress",
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ask = storyboards.StitchAsk(video_ids=tuple(data.validated_data["drafts"]))
        return _enqueued(storyboards.stitch_enqueue(user_id=_actor(request).id, ask=ask, idempotency_key=key))
