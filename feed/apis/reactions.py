"""Reactions: liking a post and who liked it; comments, their replies, editing and deleting them.

Every view finds the object named in its path before it reads a body: for a member who may not
see the object, the answer is the same 404 as for an id that names nothing, whatever they sent.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.public import MemberSerializer
from config.api import (
    BODY_ERRORS,
    PAGE_ERRORS,
    CursorPage,
    StrictSerializer,
    error_responses,
    page_response,
    requester_id,
)
from config.openapi import PAGE_PARAMETERS, page_of
from feed import errors, reactions
from feed.apis.videos import MentionSerializer
from feed.models import COMMENT_MAX, Comment
from moderation.public import TEXT_PUBLIC_FIGURE, TEXT_REFUSED


class OldestFirst(CursorPage):
    """Replies read as a conversation, from the first one down."""

    ordering = ("created_at", "id")


def _context(request: Request) -> dict[str, Any]:
    return {"request": request, "viewer_id": requester_id(request)}


def _page(
    request: Request,
    view: APIView,
    rows: QuerySet[Any],
    serializer: type[serializers.Serializer],
    paginator: CursorPage | None = None,
) -> Response:
    return page_response(view, request, rows, serializer, paginator=paginator, context=_context(request))


# --- likes --------------------------------------------------------------------------------------


class LikerSerializer(serializers.Serializer):
    user = MemberSerializer()
    liked_at = serializers.DateTimeField(source="created_at")


class VideoLikeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        liked = serializers.BooleanField()
        likes = serializers.IntegerField(help_text="The post's count of likes, yours included")

    @extend_schema(
        request=None,
        responses={
            200: OutputSerializer,
            201: OutputSerializer,
            **error_responses(errors.VIDEO_NOT_FOUND, errors.VIDEO_NOT_POSTED),
        },
        summary="Like a post (201; liking it again is harmless: 200, counted once)",
    )
    def post(self, request: Request, video_id: UUID) -> Response:
        like = reactions.like_create(actor_id=requester_id(request), video_id=video_id)
        answer = {"liked": like.liked, "likes": like.likes}
        return Response(answer, status=status.HTTP_201_CREATED if like.changed else status.HTTP_200_OK)

    @extend_schema(
        responses={200: OutputSerializer, **error_responses(errors.VIDEO_NOT_FOUND)},
        summary="Take my like back (harmless when there is none)",
    )
    def delete(self, request: Request, video_id: UUID) -> Response:
        like = reactions.like_delete(actor_id=requester_id(request), video_id=video_id)
        return Response({"liked": like.liked, "likes": like.likes})


class VideoLikeListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(LikerSerializer), **error_responses(PAGE_ERRORS, errors.VIDEO_NOT_FOUND)},
        summary="Who liked a video, the latest first (members hidden from me left out)",
    )
    def get(self, request: Request, video_id: UUID) -> Response:
        likes = reactions.likers_of(viewer_id=requester_id(request), video_id=video_id)
        return _page(request, self, likes, LikerSerializer)


# --- comments -----------------------------------------------------------------------------------


class CommentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    video_id = serializers.UUIDField()
    parent_id = serializers.UUIDField(
        allow_null=True, help_text="The top-level comment of a reply's thread; null for a top-level one"
    )
    author = MemberSerializer()
    body = serializers.CharField()
    mentions = MentionSerializer(many=True, source="mention_list")
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True, help_text="When its author last changed it")
    is_mine = serializers.SerializerMethodField(help_text="I wrote it (I may edit it)")
    can_delete = serializers.SerializerMethodField(help_text="I wrote it, or it is on my post")

    def get_is_mine(self, comment: Comment) -> bool:
        return bool(comment.author_id == self.context["viewer_id"])

    def get_can_delete(self, comment: Comment) -> bool:
        return self.context["viewer_id"] in (comment.author_id, reactions.video_of(comment).owner_id)


class CommentThreadSerializer(CommentSerializer):
    replies_count = serializers.IntegerField(help_text="Replies I may read")
    replies = CommentSerializer(
        many=True, source="replies_preview", help_text=f"The first {reactions.REPLIES_PREVIEW} replies"
    )


BODY_HELP = f"1 to {COMMENT_MAX} characters (spaces around are trimmed); `@username` mentions that member"


class CommentInputSerializer(StrictSerializer):
    body = serializers.CharField(max_length=COMMENT_MAX, help_text=BODY_HELP)

    # Never partial, for PATCH too (an edit sends the whole text): drf-spectacular makes a PATCH body
    # partial by setting this, which would tell clients that `body` may be left out.
    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value: bool) -> None:
        pass


class VideoCommentListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_of(CommentThreadSerializer),
            **error_responses(PAGE_ERRORS, errors.VIDEO_NOT_FOUND),
        },
        summary="The comments on a video, the latest first, each with its first replies",
    )
    def get(self, request: Request, video_id: UUID) -> Response:
        threads = reactions.threads_of(viewer_id=requester_id(request), video_id=video_id)
        return _page(request, self, threads, CommentThreadSerializer)

    @extend_schema(
        request=CommentInputSerializer,
        responses={
            201: CommentThreadSerializer,
            **error_responses(
                BODY_ERRORS, TEXT_REFUSED, TEXT_PUBLIC_FIGURE, errors.VIDEO_NOT_FOUND, errors.VIDEO_NOT_POSTED
            ),
        },
        summary="Comment on a post",
    )
    def post(self, request: Request, video_id: UUID) -> Response:
        viewer_id = requester_id(request)
        reactions.video_ref_for_reaction(viewer_id=viewer_id, video_id=video_id)
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = reactions.comment_create(actor_id=viewer_id, video_id=video_id, **data.validated_data)
        thread = reactions.thread_get(viewer_id=viewer_id, comment_id=comment.id)
        return Response(CommentThreadSerializer(thread, context=_context(request)).data, status=201)


class CommentReplyListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(CommentSerializer), **error_responses(PAGE_ERRORS, errors.COMMENT_NOT_FOUND)},
        summary="The replies of a comment, the first one first (for a reply: the replies of its thread)",
    )
    def get(self, request: Request, comment_id: UUID) -> Response:
        replies = reactions.replies_of(viewer_id=requester_id(request), comment_id=comment_id)
        return _page(request, self, replies, CommentSerializer, paginator=OldestFirst())

    @extend_schema(
        request=CommentInputSerializer,
        responses={
            201: CommentSerializer,
            **error_responses(
                BODY_ERRORS,
                TEXT_REFUSED,
                TEXT_PUBLIC_FIGURE,
                errors.COMMENT_NOT_FOUND,
                errors.VIDEO_NOT_POSTED,
            ),
        },
        summary="Reply to a comment (a reply to a reply joins the thread of its top-level comment)",
    )
    def post(self, request: Request, comment_id: UUID) -> Response:
        viewer_id = requester_id(request)
        reactions.reply_target(viewer_id=viewer_id, comment_id=comment_id)
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reply = reactions.reply_create(actor_id=viewer_id, comment_id=comment_id, **data.validated_data)
        card = reactions.comment_get_for_viewer(viewer_id=viewer_id, comment_id=reply.id)
        return Response(CommentSerializer(card, context=_context(request)).data, status=201)


class CommentDetailApi(APIView):
    @extend_schema(
        request=CommentInputSerializer,
        responses={
            200: CommentSerializer,
            **error_responses(
                BODY_ERRORS,
                TEXT_REFUSED,
                TEXT_PUBLIC_FIGURE,
                errors.COMMENT_NOT_FOUND,
                errors.COMMENT_EDIT_DENIED,
            ),
        },
        summary="Edit my comment (it shows as edited; its mentions follow the new text)",
    )
    def patch(self, request: Request, comment_id: UUID) -> Response:
        viewer_id = requester_id(request)
        reactions.comment_get_for_edit(actor_id=viewer_id, comment_id=comment_id)
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reactions.comment_update(actor_id=viewer_id, comment_id=comment_id, **data.validated_data)
        card = reactions.comment_get_for_viewer(viewer_id=viewer_id, comment_id=comment_id)
        return Response(CommentSerializer(card, context=_context(request)).data)

    @extend_schema(
        responses={
            204: None,
            **error_responses(errors.COMMENT_NOT_FOUND, errors.COMMENT_DELETE_DENIED),
        },
        summary="Delete a comment, mine or one on my post (a top-level one takes its replies with it)",
    )
    def delete(self, request: Request, comment_id: UUID) -> Response:
        reactions.comment_delete(actor_id=requester_id(request), comment_id=comment_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("videos/<uuid:video_id>/like", VideoLikeApi.as_view(), name="video-like"),
    path("videos/<uuid:video_id>/likes", VideoLikeListApi.as_view(), name="video-likes"),
    path("videos/<uuid:video_id>/comments", VideoCommentListApi.as_view(), name="video-comments"),
    path("comments/<uuid:comment_id>/replies", CommentReplyListApi.as_view(), name="comment-replies"),
    path("comments/<uuid:comment_id>", CommentDetailApi.as_view(), name="comment-detail"),
]
