"""HTTP API of cameos' permissions and use: my cameos, the ones I may use, one cameo (by id or
handle), the owner's settings (level, texts, restrictions), deletion, requests and approvals, and
the usage log.

Every lookup goes through `cameos.selectors` (visibility inside the query): a cameo one may not see
answers 404 `cameo_not_found`, as one that does not exist. The owner reads the full detail
(`owner` block: preferences, restrictions, counts); others read the public card (can_use, their
own request's state).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.public import MemberSerializer, member_card
from cameos import errors, selectors, services
from cameos.models import Approval, Cameo, Restriction, Use
from cameos.services import MAX_RESTRICTIONS
from config.api import (
    BODY_ERRORS,
    PAGE_ERRORS,
    StrictSerializer,
    error_responses,
    iso,
    page_response,
    requester_id,
)
from config.errors import KinoError
from config.openapi import PAGE_PARAMETERS, page_of
from moderation.public import MODERATION_UNAVAILABLE, TEXT_PUBLIC_FIGURE, TEXT_REFUSED

TEXT_ERRORS = (TEXT_REFUSED, TEXT_PUBLIC_FIGURE, MODERATION_UNAVAILABLE)


# --- cards -----------------------------------------------------------------------------------


class _RequestState(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=Approval.State.choices)


class _OwnerDetail(serializers.Serializer):
    preferences = serializers.CharField(help_text="Go to the engine with every prompt that casts the cameo")
    restrictions = serializers.ListField(child=serializers.CharField(), help_text="Checked against prompts")
    requests = serializers.IntegerField(help_text="Requests waiting for an answer")
    approved = serializers.IntegerField(help_text="Members approved")
    consent_version = serializers.IntegerField()
    has_face = serializers.BooleanField(help_text="A face embedding is stored (its value never leaves)")
    has_voice = serializers.BooleanField()


class CameoSerializer(serializers.Serializer):
    """A cameo as its viewer may see it: the owner's block only for its owner."""

    id = serializers.UUIDField()
    handle = serializers.CharField()
    kind = serializers.ChoiceField(choices=Cameo.Kind.choices)
    display_name = serializers.CharField()
    personality = serializers.CharField(help_text="Characters: the line engines receive")
    level = serializers.ChoiceField(choices=Cameo.Level.choices)
    state = serializers.ChoiceField(choices=Cameo.State.choices, help_text="Others see only active cameos")
    owner = MemberSerializer()
    is_mine = serializers.BooleanField()
    can_use = serializers.BooleanField(help_text="I may cast it in a prompt now")
    my_request = _RequestState(allow_null=True, help_text="My request to use it, if I made one")
    created_at = serializers.DateTimeField()
    owner_detail = _OwnerDetail(allow_null=True, help_text="Only for the cameo's owner")

    def to_representation(self, cameo: Cameo) -> dict[str, Any]:
        request = self.context["request"]
        mine = cameo.owner_id == request.user.id
        approval_id = getattr(cameo, "approval_id", None)
        card: dict[str, Any] = {
            "id": str(cameo.id),
            "handle": cameo.handle,
            "kind": cameo.kind,
            "display_name": cameo.display_name,
            "personality": cameo.personality,
            "level": cameo.level,
            "state": cameo.state,
            "owner": member_card(request, cameo.owner),
            "is_mine": mine,
            "can_use": selectors.usable(cameo),
            "my_request": {"id": str(approval_id), "state": cameo.approval_state} if approval_id else None,  # type: ignore[attr-defined]
            "created_at": iso(cameo.created_at),
            "owner_detail": None,
        }
        if mine:
            extra = self.context.get("owner", {}).get(cameo.id) or _owner_extra([cameo])[cameo.id]
            card["owner_detail"] = {
                "preferences": cameo.preferences,
                "consent_version": cameo.consent_version,
                "has_face": cameo.face_embedding is not None,
                "has_voice": cameo.voice_embedding is not None,
                **extra,
            }
        return card


def _owner_extra(cameos: list[Cameo]) -> dict[UUID, dict[str, Any]]:
    """Restrictions and request counts of the owner's cameos on a page: two queries for the page."""
    ids = [c.id for c in cameos]
    restrictions: dict[UUID, list[str]] = {i: [] for i in ids}
    for cameo_id, text in Restriction.objects.filter(cameo_id__in=ids).values_list("cameo_id", "text"):
        restrictions[cameo_id].append(text)
    counts = selectors.cameo_counts(cameo_ids=ids)
    return {
        i: {
            "restrictions": restrictions[i],
            "requests": counts[i].get(Approval.State.REQUESTED, 0),
            "approved": counts[i].get(Approval.State.APPROVED, 0),
        }
        for i in ids
    }


def _cameo_page(request: Request, view: APIView, cameos: Any) -> Response:
    def prepare(page: list[Cameo]) -> list[Cameo]:
        mine = [c for c in page if c.owner_id == request.user.id]
        context["owner"] = _owner_extra(mine) if mine else {}
        return page

    context: dict[str, Any] = {"request": request}
    return page_response(
        view,
        request,
        cameos.select_related("owner__profile"),
        CameoSerializer,
        prepare=prepare,
        context=context,
    )


def _cameo_response(request: Request, cameo: Cameo, code: int = status.HTTP_200_OK) -> Response:
    return Response(CameoSerializer(cameo, context={"request": request}).data, status=code)


def _teen(request: Request) -> bool:
    return bool(getattr(request.user, "is_teen", False))


# --- cameos ----------------------------------------------------------------------------------


class CameoListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(CameoSerializer), **error_responses(PAGE_ERRORS)},
        summary="My cameos (a person cameo and my characters), newest first",
    )
    def get(self, request: Request) -> Response:
        return _cameo_page(request, self, selectors.cameos_of_owner(user_id=requester_id(request)))


class CameoUsableListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(CameoSerializer), **error_responses(PAGE_ERRORS)},
        summary="Cameos I may cast now (mine and others'), newest first",
    )
    def get(self, request: Request) -> Response:
        return _cameo_page(request, self, selectors.cameos_usable_by(user_id=requester_id(request)))


class CameoDetailApi(APIView):
    class InputSerializer(StrictSerializer):
        level = serializers.ChoiceField(choices=Cameo.Level.choices, required=False)
        display_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
        personality = serializers.CharField(max_length=200, required=False, allow_blank=True)
        preferences = serializers.CharField(max_length=300, required=False, allow_blank=True)

    @extend_schema(
        responses={200: CameoSerializer, **error_responses(errors.CAMEO_NOT_FOUND)},
        summary="A cameo (404 for one I may not see)",
    )
    def get(self, request: Request, cameo_id: UUID) -> Response:
        cameo = selectors.cameo_get_for_viewer(user_id=requester_id(request), cameo_id=cameo_id)
        return _cameo_response(request, cameo)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: CameoSerializer,
            **error_responses(BODY_ERRORS, errors.CAMEO_NOT_FOUND, errors.LEVEL_NOT_ALLOWED, TEXT_ERRORS),
        },
        summary="Change my cameo: its level (lowering it stops every job casting it), names, preferences",
    )
    def patch(self, request: Request, cameo_id: UUID) -> Response:
        user_id = requester_id(request)
        selectors.cameo_get_for_owner(user_id=user_id, cameo_id=cameo_id)  # 404 before any 400
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.cameo_update(user_id=user_id, cameo_id=cameo_id, teen=_teen(request), **data.validated_data)
        return _cameo_response(request, selectors.cameo_get_for_owner(user_id=user_id, cameo_id=cameo_id))

    @extend_schema(
        request=None,
        responses={204: None, **error_responses(errors.CAMEO_NOT_FOUND)},
        summary="Delete my cameo: consent ends now, jobs casting it stop, its likeness is erased",
    )
    def delete(self, request: Request, cameo_id: UUID) -> Response:
        services.cameo_delete(user_id=requester_id(request), cameo_id=cameo_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CameoByHandleApi(APIView):
    @extend_schema(
        responses={200: CameoSerializer, **error_responses(errors.CAMEO_NOT_FOUND)},
        summary="A cameo by its handle (404 for one I may not see)",
    )
    def get(self, request: Request, handle: str) -> Response:
        cameo = selectors.cameo_get_by_handle_for_viewer(user_id=requester_id(request), handle=handle)
        return _cameo_response(request, cameo)


class CameoRestrictionsApi(APIView):
    class InputSerializer(StrictSerializer):
        restrictions = serializers.ListField(
            child=serializers.CharField(max_length=200, allow_blank=False),
            max_length=MAX_RESTRICTIONS,
            help_text='Free text, e.g. "no political content"; replaces the list',
        )

    class OutputSerializer(serializers.Serializer):
        restrictions = serializers.ListField(child=serializers.CharField())

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(BODY_ERRORS, errors.CAMEO_NOT_FOUND, errors.TOO_MANY_RESTRICTIONS, TEXT_ERRORS),
        },
        summary="Set my cameo's restrictions (checked by meaning against every prompt casting it)",
    )
    def put(self, request: Request, cameo_id: UUID) -> Response:
        selectors.cameo_get_for_owner(user_id=requester_id(request), cameo_id=cameo_id)  # 404 before any 400
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        saved = services.cameo_restrictions_set(
            user_id=requester_id(request),
            cameo_id=cameo_id,
            texts=data.validated_data["restrictions"],
            teen=_teen(request),
        )
        return Response({"restrictions": saved})


# --- requests and approvals ------------------------------------------------------------------


class ApprovalSerializer(serializers.Serializer):
    """A request to use a cameo, as its owner sees it."""

    id = serializers.UUIDField()
    member = MemberSerializer(help_text="Who asked")
    state = serializers.ChoiceField(choices=Approval.State.choices)
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, approval: Approval) -> dict[str, Any]:
        return {
            "id": str(approval.id),
            "member": member_card(self.context["request"], approval.user),
            "state": approval.state,
            "message": approval.message,
            "created_at": iso(approval.created_at),
            "updated_at": iso(approval.updated_at),
            "decided_at": iso(approval.decided_at),
        }


class MyRequestSerializer(serializers.Serializer):
    """A request I made to use someone's cameo."""

    id = serializers.UUIDField()
    cameo = serializers.DictField(help_text="id, handle, kind, display_name")
    owner = MemberSerializer()
    state = serializers.ChoiceField(choices=Approval.State.choices)
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, approval: Approval) -> dict[str, Any]:
        cameo = approval.cameo
        return {
            "id": str(approval.id),
            "cameo": {
                "id": str(cameo.id),
                "handle": cameo.handle,
                "kind": cameo.kind,
                "display_name": cameo.display_name,
            },
            "owner": member_card(self.context["request"], cameo.owner),
            "state": approval.state,
            "message": approval.message,
            "created_at": iso(approval.created_at),
            "decided_at": iso(approval.decided_at),
        }


STATE_PARAMETER = OpenApiParameter(
    "state",
    str,
    OpenApiParameter.QUERY,
    enum=list(Approval.State.values),
    description="Only requests in this state",
)


class CameoRequestApi(APIView):
    class InputSerializer(StrictSerializer):
        message = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: ApprovalSerializer,
            200: ApprovalSerializer,
            **error_responses(
                BODY_ERRORS,
                errors.CAMEO_NOT_FOUND,
                errors.APPROVAL_NOT_NEEDED,
                errors.APPROVAL_STATE,
                TEXT_ERRORS,
            ),
        },
        summary="Ask to use a cameo (once: asking again answers the standing request, 200)",
    )
    def post(self, request: Request, cameo_id: UUID) -> Response:
        selectors.cameo_get_for_viewer(user_id=requester_id(request), cameo_id=cameo_id)  # 404 before any 400
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        approval, created = services.approval_request(
            user_id=requester_id(request), cameo_id=cameo_id, message=data.validated_data["message"]
        )
        approval = selectors.approvals_of_cameo(cameo=approval.cameo_id).get(id=approval.id)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(ApprovalSerializer(approval, context={"request": request}).data, status=code)

    @extend_schema(
        parameters=[*PAGE_PARAMETERS, STATE_PARAMETER],
        responses={200: page_of(ApprovalSerializer), **error_responses(PAGE_ERRORS, errors.CAMEO_NOT_FOUND)},
        summary="Requests and approvals of my cameo, newest first",
    )
    def get(self, request: Request, cameo_id: UUID) -> Response:
        cameo = selectors.cameo_get_for_owner(user_id=requester_id(request), cameo_id=cameo_id)
        state = request.query_params.get("state") or None
        if state is not None and state not in Approval.State.values:
            raise KinoError(errors.APPROVAL_STATE_UNKNOWN, field="state")
        return page_response(
            self, request, selectors.approvals_of_cameo(cameo=cameo, state=state), ApprovalSerializer
        )


class _ApprovalDecideApi(APIView):
    action = ""

    def post(self, request: Request, cameo_id: UUID, request_id: UUID) -> Response:
        approval = services.approval_decide(
            owner_id=requester_id(request), cameo_id=cameo_id, approval_id=request_id, action=self.action
        )
        approval = selectors.approvals_of_cameo(cameo=approval.cameo_id).get(id=approval.id)
        return Response(ApprovalSerializer(approval, context={"request": request}).data)


def _decide_schema(summary: str) -> Any:
    return extend_schema(
        request=None,
        responses={
            200: ApprovalSerializer,
            **error_responses(errors.CAMEO_NOT_FOUND, errors.APPROVAL_NOT_FOUND, errors.APPROVAL_STATE),
        },
        summary=summary,
    )


class CameoRequestApproveApi(_ApprovalDecideApi):
    action = "approve"

    @_decide_schema("Approve a request (also one denied or revoked before)")
    def post(self, request: Request, cameo_id: UUID, request_id: UUID) -> Response:
        return super().post(request, cameo_id, request_id)


class CameoRequestDenyApi(_ApprovalDecideApi):
    action = "deny"

    @_decide_schema("Deny a request")
    def post(self, request: Request, cameo_id: UUID, request_id: UUID) -> Response:
        return super().post(request, cameo_id, request_id)


class CameoRequestRevokeApi(_ApprovalDecideApi):
    action = "revoke"

    @_decide_schema("Revoke an approval: from now on the member's jobs casting the cameo are refused")
    def post(self, request: Request, cameo_id: UUID, request_id: UUID) -> Response:
        return super().post(request, cameo_id, request_id)


class MyRequestListApi(APIView):
    @extend_schema(
        parameters=[*PAGE_PARAMETERS, STATE_PARAMETER],
        responses={
            200: page_of(MyRequestSerializer),
            **error_responses(PAGE_ERRORS, errors.APPROVAL_STATE_UNKNOWN),
        },
        summary="My requests to use others' cameos, newest first",
    )
    def get(self, request: Request) -> Response:
        approvals = selectors.approvals_of_member(user_id=requester_id(request))
        state = request.query_params.get("state") or None
        if state is not None:
            if state not in Approval.State.values:
                raise KinoError(errors.APPROVAL_STATE_UNKNOWN, field="state")
            approvals = approvals.filter(state=state)
        return page_response(self, request, approvals, MyRequestSerializer)


# --- the usage log ---------------------------------------------------------------------------


class UseSerializer(serializers.Serializer):
    """One consent decision about casting my cameo."""

    id = serializers.UUIDField()
    member = MemberSerializer(help_text="Who asked to cast it")
    created_at = serializers.DateTimeField()
    generation_id = serializers.UUIDField(allow_null=True)
    video_id = serializers.UUIDField(allow_null=True)
    stage = serializers.ChoiceField(choices=Use.Stage.choices, help_text="request, worker (recheck) or draft")
    allowed = serializers.BooleanField()
    code = serializers.CharField(help_text="The refusal's code (empty when allowed)")
    prompt = serializers.CharField()

    def to_representation(self, use: Use) -> dict[str, Any]:
        return {
            "id": str(use.id),
            "member": member_card(self.context["request"], use.user),
            "created_at": iso(use.created_at),
            "generation_id": str(use.job_id) if use.job_id else None,
            "video_id": str(use.video_id) if use.video_id else None,
            "stage": use.stage,
            "allowed": use.allowed,
            "code": use.code,
            "prompt": use.prompt,
        }


class CameoUseListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(UseSerializer), **error_responses(PAGE_ERRORS, errors.CAMEO_NOT_FOUND)},
        summary="My cameo's usage log: who, when, which generation, the decision and its code",
    )
    def get(self, request: Request, cameo_id: UUID) -> Response:
        cameo = selectors.cameo_get_for_owner(user_id=requester_id(request), cameo_id=cameo_id)
        return page_response(self, request, selectors.uses_of_cameo(cameo=cameo), UseSerializer)
