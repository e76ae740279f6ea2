"""HTTP API of generation: ask for a clip, follow it, cancel it."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ERROR_RESPONSES, CursorPage, StrictSerializer
from config.errors import KinoError
from generation import selectors, services
from generation.models import Job

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class JobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=Job.State.choices)
    prompt = serializers.CharField()
    duration_s = serializers.IntegerField()
    aspect = serializers.CharField()
    quality = serializers.CharField()
    seed = serializers.IntegerField()
    remix_of = serializers.UUIDField(source="remix_of_id", allow_null=True)
    has_start_image = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    attempts = serializers.IntegerField()
    engine = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    video_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_has_start_image(self, job: Job) -> bool:
        return bool(job.start_image)

    def get_progress(self, job: Job) -> dict[str, Any]:
        return {"step": job.step, "steps": job.steps, "percent": job.percent, "eta_s": job.eta_s}

    def get_engine(self, job: Job) -> dict[str, str] | None:
        return {"name": job.engine_name, "version": job.engine_version} if job.engine_name else None

    def get_error(self, job: Job) -> dict[str, str] | None:
        return {"code": job.error_code, "message": job.error_message} if job.error_code else None


def _actor(request: Request) -> Any:
    return request.user


class GenerationListCreateApi(APIView):
    class InputSerializer(StrictSerializer):
        prompt = serializers.CharField(max_length=1000, trim_whitespace=True)
        duration_s = serializers.ChoiceField(choices=services.DURATIONS)
        aspect = serializers.ChoiceField(choices=Job.Aspect.choices, default=Job.Aspect.PORTRAIT)
        quality = serializers.ChoiceField(choices=Job.Quality.choices, default=Job.Quality.STANDARD)
        seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True)
        start_image = serializers.FileField(required=False, allow_empty_file=False, max_length=255)
        remix_of = serializers.UUIDField(required=False, allow_null=True)
        cameos = serializers.ListField(
            child=serializers.CharField(max_length=30), max_length=2, required=False
        )

    @extend_schema(
        request={"application/json": InputSerializer, "multipart/form-data": InputSerializer},
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
            429: OpenApiResponse(description="quota_exceeded"),
            **ERROR_RESPONSES,
        },
        summary="Ask for a clip (queued; follow it by polling or on the WebSocket)",
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "")
        if key and not IDEMPOTENCY_KEY.fullmatch(key):
            raise KinoError(
                "Idempotency-Key must be 1-64 of A-Z a-z 0-9 _ . : -", code="idempotency_key_invalid"
            )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = services.generation_enqueue(
            user=_actor(request),
            prompt=v["prompt"],
            duration_s=int(v["duration_s"]),
            aspect=v["aspect"],
            quality=v["quality"],
            seed=v.get("seed"),
            start_image=v.get("start_image"),
            remix_of_id=v.get("remix_of"),
            cameo_handles=v.get("cameos"),
            idempotency_key=key,
        )
        return Response(
            JobSerializer(result.job).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    @extend_schema(
        responses={200: JobSerializer(many=True), **ERROR_RESPONSES}, summary="My generations, newest first"
    )
    def get(self, request: Request) -> Response:
        paginator = CursorPage()
        page = paginator.paginate_queryset(selectors.jobs_of(user=_actor(request)), request, view=self) or []
        return paginator.get_paginated_response(JobSerializer(page, many=True).data)


class GenerationDetailApi(APIView):
    @extend_schema(
        responses={200: JobSerializer, **ERROR_RESPONSES}, summary="One generation, with its progress"
    )
    def get(self, request: Request, job_id: UUID) -> Response:
        return Response(JobSerializer(selectors.job_get_for_owner(actor=_actor(request), job_id=job_id)).data)

    @extend_schema(
        responses={204: None, 409: OpenApiResponse(description="job_active"), **ERROR_RESPONSES},
        summary="Forget a finished generation (its draft stays)",
    )
    def delete(self, request: Request, job_id: UUID) -> Response:
        services.generation_delete(job=selectors.job_get_for_owner(actor=_actor(request), job_id=job_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class GenerationCancelApi(APIView):
    @extend_schema(
        request=None,
        responses={200: JobSerializer, 409: OpenApiResponse(description="job_finished"), **ERROR_RESPONSES},
        summary="Cancel: a queued job never starts; a running one stops at its next step",
    )
    def post(self, request: Request, job_id: UUID) -> Response:
        job = services.generation_cancel(
            job=selectors.job_get_for_owner(actor=_actor(request), job_id=job_id)
        )
        return Response(JobSerializer(job).data)
