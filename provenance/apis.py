"""HTTP API of provenance: a video's C2PA manifest, as its stored file carries it.

Who may ask is feed's rule for the video itself (`video_ref_for_viewer`): a video one may not see
answers 404 `video_not_found`, as one that does not exist. The answer is read from the file, not
from Kino's tables: it says what any C2PA reader would find in the downloaded MP4.
"""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import error_responses, requester_id
from config.errors import KinoError
from feed.public import VIDEO_NOT_FOUND, video_file_read, video_ref_for_viewer
from provenance import errors
from provenance.manifests import manifest_summary

STATES = ("trusted", "valid-untrusted", "invalid", "none")
STATE_HELP = (
    "`trusted`: signed under a root Kino trusts (GET /.well-known/c2pa/trust-anchors.pem); "
    "`valid-untrusted`: intact, signed by someone else; `invalid`: changed after signing; `none`: no manifest"
)


class AgentSerializer(serializers.Serializer):
    name = serializers.CharField(allow_null=True)
    version = serializers.CharField(allow_null=True)


class ActionSerializer(serializers.Serializer):
    action = serializers.CharField(
        help_text="A C2PA action, e.g. `c2pa.created`, `c2pa.opened`, `c2pa.placed`"
    )
    digital_source_type = serializers.CharField(
        allow_null=True, help_text="IPTC digital source type; Kino's clips say `trainedAlgorithmicMedia`"
    )
    software_agent = AgentSerializer(allow_null=True, help_text="The engine and model version that made it")


class SignerSerializer(serializers.Serializer):
    issuer = serializers.CharField(allow_null=True, help_text="The signing certificate's organisation")
    common_name = serializers.CharField(allow_null=True)
    time = serializers.CharField(allow_null=True, help_text="From a timestamp authority; null without one")


class IngredientSerializer(serializers.Serializer):
    title = serializers.CharField(allow_null=True)
    relationship = serializers.ChoiceField(choices=["parentOf", "componentOf", "inputTo"])
    state = serializers.ChoiceField(choices=STATES, help_text="As c2pa found it when it was added")


class _ManifestSerializer(serializers.Serializer):
    title = serializers.CharField(allow_null=True)
    claim_generator = AgentSerializer(
        allow_null=True, help_text="The software that signed: Kino and its version"
    )
    author = serializers.CharField(allow_null=True, help_text="The creator's public @handle")
    actions = ActionSerializer(many=True)
    signer = SignerSerializer(allow_null=True)


class ChainLinkSerializer(IngredientSerializer, _ManifestSerializer):
    """One generation back, from that clip's own manifest (carried inside its child's)."""


class ProvenanceSerializer(_ManifestSerializer):
    state = serializers.ChoiceField(choices=STATES, help_text=STATE_HELP)
    failures = serializers.ListField(
        child=serializers.CharField(),
        help_text="C2PA validation codes that failed, e.g. `assertion.bmffHash.mismatch`",
    )
    ingredients = IngredientSerializer(many=True)
    chain = ChainLinkSerializer(
        many=True, help_text="The remix chain as the manifests record it: parent first, then grandparent, …"
    )


class VideoProvenanceApi(APIView):
    @extend_schema(
        responses={
            200: ProvenanceSerializer,
            **error_responses(VIDEO_NOT_FOUND, errors.PROVENANCE_NO_FILE),
        },
        summary="The C2PA manifest of a video I may see: actions, ingredients, signer, validity, remix chain",
    )
    def get(self, request: Request, video_id: UUID) -> Response:
        video = video_ref_for_viewer(viewer_id=requester_id(request), video_id=video_id)
        mp4 = video_file_read(video.video_id)
        if mp4 is None:
            raise KinoError(errors.PROVENANCE_NO_FILE)
        return Response(ProvenanceSerializer(manifest_summary(mp4)).data)
