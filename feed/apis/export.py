"""Your data: start an export of everything you own, follow it, download the zip."""

from __future__ import annotations

from uuid import UUID

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import error_responses, requester_id
from feed import errors
from feed.export import export_download_url, export_get_for_owner, export_start
from feed.models import DataExport


class ExportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=DataExport.State.choices)
    percent = serializers.IntegerField(min_value=0, max_value=100)
    size_bytes = serializers.IntegerField(help_text="The zip's size, once it is made")
    error_code = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When the zip and its link go")
    download_url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="Why it failed (an error code)"))
    def get_error_code(self, export: DataExport) -> str | None:
        return export.error_code or None

    @extend_schema_field(
        serializers.URLField(
            allow_null=True, help_text="The zip, once it is made and until it expires; null otherwise"
        )
    )
    def get_download_url(self, export: DataExport) -> str | None:
        return export_download_url(self.context["request"], export)


class ExportStartApi(APIView):
    @extend_schema(
        request=None,
        responses={202: ExportSerializer, **error_responses(errors.EXPORT_IN_PROGRESS)},
        summary="Start an export of all my data (one at a time; follow it here or on the WebSocket)",
    )
    def post(self, request: Request) -> Response:
        export = export_start(user_id=requester_id(request))
        return Response(
            ExportSerializer(export, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )


class ExportDetailApi(APIView):
    @extend_schema(
        responses={200: ExportSerializer, **error_responses(errors.EXPORT_NOT_FOUND)},
        summary="One of my exports: its progress, then its download link",
    )
    def get(self, request: Request, export_id: UUID) -> Response:
        export = export_get_for_owner(owner_id=requester_id(request), export_id=export_id)
        return Response(ExportSerializer(export, context={"request": request}).data)


urlpatterns = [
    path("me/export", ExportStartApi.as_view(), name="me-export"),
    path("me/export/<uuid:export_id>", ExportDetailApi.as_view(), name="me-export-detail"),
]
