"""Remix lineage: a video's ancestors up to the original, its direct remixes, the tree below it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core import signing
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from config import errors as config_errors
from config.api import PAGE_ERRORS, CursorPage, error_responses, page_response, requester_id
from config.errors import KinoError
from config.openapi import PAGE_PARAMETERS, page_of
from feed import errors, lineage
from feed.apis.videos import VideoSerializer
from feed.lineage import PathCursor


class LineageNodeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    depth = serializers.IntegerField(help_text="How many ancestors it has: 0 for an original")
    available = serializers.BooleanField(
        help_text="False for a tombstone: `reason` says why, `video` is null"
    )
    reason = serializers.ChoiceField(
        choices=lineage.REASONS,
        allow_null=True,
        help_text="Why the video is not shown: deleted (by its creator, or gone with their account), "
        "removed (by a moderator), hidden (you and its creator block each other), unavailable (not a "
        "post now); null if shown",
    )
    remixes_count = serializers.IntegerField(help_text="Its direct remixes that are posted")
    descendants_count = serializers.IntegerField(help_text="Posted remixes at any depth below it")
    video = VideoSerializer(allow_null=True, help_text="Its card; null for a tombstone")

    def to_representation(self, node: lineage.LineageNode) -> dict[str, Any]:
        """The node built by hand, as the card is (DRF's field-by-field walk cost a page of twenty
        a millisecond); the fields above stay the schema."""
        return {
            "id": str(node.id),
            "depth": node.depth,
            "available": node.available,
            "reason": node.reason,
            "remixes_count": node.remixes_count,
            "descendants_count": node.descendants_count,
            "video": None if node.video is None else self.fields["video"].to_representation(node.video),
        }


@extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/LineageTreeNode"}})
class _SubtreesField(serializers.ListField):
    """The children, each a node with its own children (the schema names the component itself: a
    serializer cannot nest itself in its own class body)."""

    def to_representation(self, data: Any) -> list[Any]:
        return [LineageTreeNodeSerializer(node, context=self.context).data for node in data]


class LineageTreeNodeSerializer(LineageNodeSerializer):
    children = _SubtreesField(help_text="Its newest remixes, as nodes")
    more_children = serializers.BooleanField(
        help_text="It has remixes not shown here (page through them with its /remixes)"
    )

    def to_representation(self, node: lineage.LineageNode) -> dict[str, Any]:
        return {
            **super().to_representation(node),
            "children": self.fields["children"].to_representation(node.children),
            "more_children": node.more_children,
        }


# --- ancestors: a page of positions in the path ------------------------------------------------


def _salt(video_id: UUID) -> str:
    # A cursor names a position in one video's path; signed, and only for that video.
    return f"feed.lineage.ancestors:{video_id}"


def _cursor_encode(request: Request, video_id: UUID, cursor: PathCursor) -> str:
    token = signing.Signer(salt=_salt(video_id)).sign_object([cursor.bound, cursor.upward])
    return replace_query_param(request.build_absolute_uri(), "cursor", token)


def _cursor_decode(request: Request, video_id: UUID) -> PathCursor | None:
    token = request.query_params.get("cursor")
    if token is None:
        return None
    try:
        bound, upward = signing.Signer(salt=_salt(video_id)).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise KinoError(config_errors.INVALID_CURSOR) from exc
    return PathCursor(bound=int(bound), upward=bool(upward))


def _ancestors_links(request: Request, video_id: UUID, page: lineage.AncestorsPage) -> dict[str, Any]:
    """Next goes on towards the root, previous back towards the video."""
    if not page.nodes:
        return {"next": None, "previous": None}
    high, low = page.nodes[0].depth, page.nodes[-1].depth
    below = PathCursor(bound=low) if low > 0 else None
    above = PathCursor(bound=high, upward=True) if high < page.depth - 1 else None
    return {
        "next": _cursor_encode(request, video_id, below) if below else None,
        "previous": _cursor_encode(request, video_id, above) if above else None,
    }


class VideoAncestorsApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_of(LineageNodeSerializer),
            **error_responses(errors.VIDEO_NOT_FOUND, PAGE_ERRORS),
        },
        summary="A video's ancestors: its parent first, up to the original",
        description="Removed, deleted, hidden and unposted ancestors stay in place as tombstones.",
    )
    def get(self, request: Request, video_id: UUID) -> Response:
        cursor = _cursor_decode(request, video_id)
        limit = CursorPage().get_page_size(request)
        assert limit is not None
        page = lineage.ancestors_page(
            viewer_id=requester_id(request), video_id=video_id, cursor=cursor, limit=limit
        )
        results = LineageNodeSerializer(page.nodes, many=True, context={"request": request}).data
        return Response({**_ancestors_links(request, video_id, page), "results": results})


class VideoRemixesApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_of(LineageNodeSerializer),
            **error_responses(errors.VIDEO_NOT_FOUND, PAGE_ERRORS),
        },
        summary="A video's direct remixes, newest first",
        description="Posts you may see, and tombstones of remixes that have posted remixes of their own "
        "(so the chain reads on).",
    )
    def get(self, request: Request, video_id: UUID) -> Response:
        remixes = lineage.remixes_of(viewer_id=requester_id(request), video_id=video_id)
        return page_response(self, request, remixes, LineageNodeSerializer, prepare=_nodes)


class VideoLineageApi(APIView):
    class InputSerializer(serializers.Serializer):
        depth = serializers.IntegerField(
            min_value=1,
            max_value=lineage.DEPTH_MAX,
            default=lineage.DEPTH_DEFAULT,
            help_text="Levels of remixes below the video",
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "depth",
                {"type": "integer", "minimum": 1, "maximum": lineage.DEPTH_MAX},
                OpenApiParameter.QUERY,
                description=f"Levels of remixes below the video, 1 to {lineage.DEPTH_MAX} "
                f"(default {lineage.DEPTH_DEFAULT})",
            )
        ],
        responses={
            200: LineageTreeNodeSerializer,
            **error_responses(errors.VIDEO_NOT_FOUND, config_errors.INVALID_INPUT),
        },
        summary="A video and the tree of its remixes, a few levels down",
        description=f"At most {lineage.CHILDREN_MAX} remixes under a node (newest first) and "
        f"{lineage.NODES_MAX} in all (nearest levels first); `more_children` marks a node with more.",
    )
    def get(self, request: Request, video_id: UUID) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        tree = lineage.lineage_tree(
            viewer_id=requester_id(request), video_id=video_id, depth=params.validated_data["depth"]
        )
        return Response(LineageTreeNodeSerializer(tree, context={"request": request}).data)


def _nodes(page: list[Any]) -> list[Any]:
    return [lineage.node_of(video) for video in page]


urlpatterns = [
    path("videos/<uuid:video_id>/ancestors", VideoAncestorsApi.as_view(), name="video-ancestors"),
    path("videos/<uuid:video_id>/remixes", VideoRemixesApi.as_view(), name="video-remixes"),
    path("videos/<uuid:video_id>/lineage", VideoLineageApi.as_view(), name="video-lineage"),
]
