"""Notifications: the grouped list, one group's actors, unread count, marking read, preferences."""

from __future__ import annotations

from functools import cache
from typing import Any
from uuid import UUID

from django.urls import path, reverse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.public import MemberSerializer, member_card
from config import errors as config_errors
from config.api import (
    BODY_ERRORS,
    PAGE_ERRORS,
    CursorPage,
    StrictSerializer,
    error_responses,
    iso,
    page_response,
    requester_id,
    site_url,
)
from config.openapi import PAGE_PARAMETERS, page_of
from feed import errors, notifications
from feed.models import NotificationGroup, NotificationPreference

Type = NotificationGroup.Type
Mode = NotificationPreference.Mode


class GroupPage(CursorPage):
    # Latest activity first: a group that gains an actor comes back to the top.
    ordering = ("-updated_at", "-id")


class TargetVideoSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    caption = serializers.CharField(help_text=f"The first {notifications.CAPTION_EXCERPT} characters")


class TargetSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text='What the notification is about: "video", "comment", "user"')
    id = serializers.UUIDField(allow_null=True)
    video = TargetVideoSerializer(
        allow_null=True,
        help_text="For a video: a summary, or null once it is gone or hidden from you (open it with "
        "GET /videos/{video_id}); null for other kinds",
    )


class NotificationGroupSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=Type.choices)
    count = serializers.IntegerField(
        help_text="How many acted: likes, remixes and follows of one target within a window fold into "
        "one group"
    )
    latest_actors = MemberSerializer(
        many=True,
        help_text=f"The latest (up to {notifications.LATEST_ACTORS}), newest first; none for a "
        "notification no member caused",
    )
    actors_url = serializers.SerializerMethodField(help_text="Everyone who acted, a cursor page")
    target = serializers.SerializerMethodField()
    # DRF's metaclass takes declared fields off the class, so this does not hide Serializer.data.
    data = serializers.DictField(  # type: ignore[assignment]
        help_text="Type-specific details (a comment's excerpt, the job's id)"
    )
    read = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text="The latest activity")

    @extend_schema_field(OpenApiTypes.URI)
    def get_actors_url(self, group: NotificationGroup) -> str:
        head, tail = _actors_path()
        return f"{site_url(self.context['request'])}{head}{group.id}{tail}"

    @extend_schema_field(TargetSerializer(allow_null=True))
    def get_target(self, group: NotificationGroup) -> dict[str, Any] | None:
        if not group.target_kind:
            return None
        caption = getattr(group, "target_caption", None)
        video = {"id": group.target_id, "caption": caption} if caption is not None else None
        return TargetSerializer({"kind": group.target_kind, "id": group.target_id, "video": video}).data

    def get_read(self, group: NotificationGroup) -> bool:
        return group.read_at is not None

    def to_representation(self, group: NotificationGroup) -> dict[str, Any]:
        """Built by hand (the fields above are the schema): a page renders many, and DRF's walk with a
        nested serializer per row cost more than the page's queries."""
        request = self.context["request"]
        target = None
        if group.target_kind:
            caption = getattr(group, "target_caption", None)
            video = {"id": str(group.target_id), "caption": caption} if caption is not None else None
            target_id = str(group.target_id) if group.target_id else None
            target = {"kind": group.target_kind, "id": target_id, "video": video}
        return {
            "id": str(group.id),
            "type": group.type,
            "count": group.count,
            "latest_actors": [member_card(request, actor) for actor in getattr(group, "latest_actors", [])],
            "actors_url": self.get_actors_url(group),
            "target": target,
            "data": group.data,
            "read": group.read_at is not None,
            "created_at": iso(group.created_at),
            "updated_at": iso(group.updated_at),
        }


@cache
def _actors_path() -> tuple[str, str]:
    """The actors page's path around its group id, reversed once (a page names twenty of them)."""
    any_id = UUID(int=0)
    head, _, tail = reverse("notification-actors", kwargs={"group_id": any_id}).partition(str(any_id))
    return head, tail


def _types_of(raw: str) -> list[str]:
    wanted = [kind.strip() for kind in raw.split(",") if kind.strip()]
    unknown = sorted(set(wanted) - set(Type.values))
    if unknown:
        raise serializers.ValidationError(
            f"Unknown types: {', '.join(unknown)}. Known: {', '.join(Type.values)}.", code="invalid_choice"
        )
    return wanted


class NotificationListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        types = serializers.CharField(required=False, max_length=500)

        def validate_types(self, value: str) -> list[str]:
            return _types_of(value)

    @extend_schema(
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter(
                "types",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description=f"Only these types, comma-separated ({', '.join(Type.values)})",
            ),
        ],
        responses={
            200: page_of(NotificationGroupSerializer),
            **error_responses(PAGE_ERRORS, config_errors.INVALID_INPUT),
        },
        summary="My notifications, grouped, latest activity first",
    )
    def get(self, request: Request) -> Response:
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        member_id = requester_id(request)
        groups = notifications.notification_groups_for(
            recipient_id=member_id, types=query.validated_data.get("types")
        )

        def with_actors(page: list[NotificationGroup]) -> list[NotificationGroup]:
            notifications.latest_actors_attach(page, viewer_id=member_id)
            return page

        return page_response(
            self, request, groups, NotificationGroupSerializer, paginator=GroupPage(), prepare=with_actors
        )


class NotificationActorListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        actor = MemberSerializer()
        acted_at = serializers.DateTimeField(source="created_at")

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_of(OutputSerializer, "NotificationActorPage"),
            **error_responses(PAGE_ERRORS, errors.NOTIFICATION_NOT_FOUND),
        },
        summary="Everyone who acted in one notification group, newest first",
    )
    def get(self, request: Request, group_id: UUID) -> Response:
        group = notifications.notification_group_get_for_recipient(
            recipient_id=requester_id(request), group_id=group_id
        )
        actors = notifications.notification_actors_of(group=group)
        return page_response(self, request, actors, self.OutputSerializer)


class NotificationUnreadCountApi(APIView):
    class OutputSerializer(serializers.Serializer):
        unread = serializers.IntegerField(help_text="Unread notification groups")

    @extend_schema(responses={200: OutputSerializer, **error_responses()}, summary="How many are unread")
    def get(self, request: Request) -> Response:
        return Response(
            {"unread": notifications.notification_unread_count(recipient_id=requester_id(request))}
        )


class NotificationReadApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None, **error_responses(errors.NOTIFICATION_NOT_FOUND)},
        summary="Mark one notification group read",
    )
    def post(self, request: Request, group_id: UUID) -> Response:
        notifications.notification_mark_read(recipient_id=requester_id(request), group_id=group_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationReadAllApi(APIView):
    class OutputSerializer(serializers.Serializer):
        marked = serializers.IntegerField(help_text="Groups that were unread")

    @extend_schema(
        request=None, responses={200: OutputSerializer, **error_responses()}, summary="Mark all read"
    )
    def post(self, request: Request) -> Response:
        marked = notifications.notifications_mark_all_read(recipient_id=requester_id(request))
        return Response({"marked": marked})


class ModeField(serializers.ChoiceField):
    """Text only: a number is refused as `invalid` rather than compared with the choices."""

    default_error_messages = {"invalid": "Not a valid string."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Mode.choices, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ModeFieldSchema(OpenApiSerializerFieldExtension):
    """Every type's field names the one `NotificationMode` enum (drf-spectacular would otherwise make
    an enum per field name, ten of the same)."""

    target_class = ModeField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        component = ResolvedComponent(
            name="NotificationModeEnum",
            type=ResolvedComponent.SCHEMA,
            object="NotificationModeEnum",
            schema={"type": "string", "enum": Mode.values},
        )
        auto_schema.registry.register_on_missing(component)
        # `type` next to the reference: a client sees text, and so does the schema sweep of text fields.
        return {"type": "string", "allOf": [component.ref]}


def _mode_fields(*, required: bool) -> dict[str, serializers.Field]:
    return {kind: ModeField(required=required, help_text=str(label)) for kind, label in Type.choices}


# One field per type, made from the model's list so a new type is in the API at once.
PreferencesSerializer = type(
    "NotificationPreferencesSerializer", (serializers.Serializer,), _mode_fields(required=True)
)
PreferencesUpdateSerializer = type(
    "NotificationPreferencesUpdateSerializer", (StrictSerializer,), _mode_fields(required=False)
)


class NotificationPreferencesApi(APIView):
    @extend_schema(
        responses={200: PreferencesSerializer, **error_responses()},
        summary="How I hear of each type: off, in the app only, or pushed live too (the default)",
    )
    def get(self, request: Request) -> Response:
        return Response(notifications.notification_preferences_of(user_id=requester_id(request)))

    @extend_schema(
        request=PreferencesUpdateSerializer,
        responses={200: PreferencesSerializer, **error_responses(BODY_ERRORS)},
        summary="Set the modes of the types named (the others keep theirs)",
    )
    def put(self, request: Request) -> Response:
        data = PreferencesUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        modes = notifications.notification_preferences_set(
            user_id=requester_id(request), modes=dict(data.validated_data)
        )
        return Response(modes)


urlpatterns = [
    path("notifications", NotificationListApi.as_view(), name="notifications"),
    path("notifications/unread-count", NotificationUnreadCountApi.as_view(), name="notifications-unread"),
    path("notifications/read-all", NotificationReadAllApi.as_view(), name="notifications-read-all"),
    path("notifications/preferences", NotificationPreferencesApi.as_view(), name="notification-preferences"),
    path("notifications/<uuid:group_id>/read", NotificationReadApi.as_view(), name="notification-read"),
    path(
        "notifications/<uuid:group_id>/actors", NotificationActorListApi.as_view(), name="notification-actors"
    ),
]
