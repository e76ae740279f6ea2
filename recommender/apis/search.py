"""Search: `GET /search?q=` (the first page of each kind) and `GET /search/{people,cameos,posts}?q=`
(cursor pages of one kind)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.public import MemberSerializer
from config.api import PAGE_ERRORS, CursorPage, error_responses, requester_id
from config.errors import INVALID_INPUT
from config.openapi import PAGE_PARAMETERS, page_of
from feed.public import VideoCardSerializer
from recommender.search import SearchPage, search

QUERY_MAX = 100


class SearchCameoSerializer(serializers.Serializer):
    """A cameo I may cast, as search lists it (its full card is `GET /cameos/{id}`)."""

    id = serializers.UUIDField()
    handle = serializers.CharField(help_text="What a prompt names it by, after an @")
    kind = serializers.ChoiceField(choices=["person", "character"])
    display_name = serializers.CharField()
    owner = MemberSerializer()
    created_at = serializers.DateTimeField()


class QuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=QUERY_MAX, help_text="What to look for")


Q_PARAMETER = OpenApiParameter(
    "q",
    {"type": "string", "minLength": 1, "maxLength": QUERY_MAX},
    OpenApiParameter.QUERY,
    required=True,
    description="Words, a name or an @handle (1-100 characters)",
)
PAGES = {
    "people": page_of(MemberSerializer, "SearchPeoplePage"),
    "cameos": page_of(SearchCameoSerializer, "SearchCameoPage"),
    "posts": page_of(VideoCardSerializer, "SearchPostPage"),
}


def _q(request: Request) -> str:
    data = QuerySerializer(data={"q": request.query_params.get("q", "")})
    data.is_valid(raise_exception=True)
    return str(data.validated_data["q"])


def _answer(request: Request, page: SearchPage) -> dict[str, Any]:
    """{next, previous, results}: results go forward only, so `previous` is null."""
    next_url = None
    if page.next_cursor is not None:
        query = request.query_params.copy()
        query["cursor"] = page.next_cursor
        next_url = request.build_absolute_uri(f"/api/v1/search/{page.kind}") + "?" + query.urlencode()
    return {"next": next_url, "previous": None, "results": page.results}


def _search(request: Request, kind: str, *, cursor: str | None, limit: int) -> dict[str, Any]:
    user = request.user
    page = search(
        request,
        viewer_id=requester_id(request),
        q=_q(request),
        kind=kind,
        cursor=cursor,
        limit=limit,
        teen=bool(getattr(user, "is_teen", False)),
    )
    return _answer(request, page)


class SearchOutputSerializer(serializers.Serializer):
    people = PAGES["people"](help_text="Members by username or display name")
    cameos = PAGES["cameos"](help_text="Cameos I may cast, by handle")
    posts = PAGES["posts"](help_text="Posts by meaning and by caption words")


class SearchApi(APIView):
    @extend_schema(
        parameters=[Q_PARAMETER],
        responses={200: SearchOutputSerializer, **error_responses(INVALID_INPUT)},
        summary="Search people, cameos and posts: the first page of each (each `next` goes on in its kind)",
    )
    def get(self, request: Request) -> Response:
        _q(request)  # a bad query is one 400, before any kind runs
        limit = settings.SEARCH_FIRST_PAGE
        return Response({kind: _search(request, kind, cursor=None, limit=limit) for kind in PAGES})


def _kind_view(kind: str, summary: str) -> Any:
    class SearchKindApi(APIView):
        @extend_schema(
            parameters=[Q_PARAMETER, *PAGE_PARAMETERS],
            responses={200: PAGES[kind], **error_responses(INVALID_INPUT, PAGE_ERRORS)},
            summary=summary,
            operation_id=f"search_{kind}_list",
        )
        def get(self, request: Request) -> Response:
            cursor = request.query_params.get("cursor") or None
            limit = CursorPage().get_page_size(request) or CursorPage.page_size
            return Response(_search(request, kind, cursor=cursor, limit=limit))

    SearchKindApi.__name__ = SearchKindApi.__qualname__ = f"Search{kind.title()}Api"
    return SearchKindApi


SearchPeopleApi = _kind_view("people", "Search members by username or display name (closest first)")
SearchCameosApi = _kind_view("cameos", "Search the cameos I may cast by handle (closest first)")
SearchPostsApi = _kind_view("posts", "Search posts by meaning and by caption words (best first)")

urlpatterns = [
    path("search", SearchApi.as_view(), name="search"),
    path("search/people", SearchPeopleApi.as_view(), name="search-people"),
    path("search/cameos", SearchCameosApi.as_view(), name="search-cameos"),
    path("search/posts", SearchPostsApi.as_view(), name="search-posts"),
]
