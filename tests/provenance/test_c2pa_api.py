"""GET /api/v1/videos/{id}/provenance, the published trust anchors, and the development CA."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from django.core.files.base import ContentFile
from django.core.management import call_command

from provenance.public import Creation, mp4_sign
from provenance.signing import SigningMisconfigured, dev_ca_ensure
from tests.factories import PostFactory, UserFactory, VideoFactory
from tests.provenance.test_c2pa import AI_MEDIA, clip_mp4

pytestmark = pytest.mark.django_db


def signed_file(handle: str, seed: int, parent: bytes | None = None) -> bytes:
    return mp4_sign(
        clip_mp4(seed), Creation(engine="builtin", model_version="1", handle=handle, parent_mp4=parent)
    )


def test_a_post_answers_its_manifest_and_remix_chain(auth_client: Any) -> None:
    alice, bob, carol = UserFactory(username="alice"), UserFactory(username="bob"), UserFactory()
    first = signed_file("alice", 31)
    PostFactory(owner=alice, video=ContentFile(first, name="clip.mp4"))
    remix = PostFactory(owner=bob, video=ContentFile(signed_file("bob", 32, parent=first), name="clip.mp4"))

    response = auth_client(carol).get(f"/api/v1/videos/{remix.id}/provenance")

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "trusted"
    assert body["author"] == "@bob"
    assert body["actions"] == [
        {
            "action": "c2pa.created",
            "digital_source_type": AI_MEDIA,
            "software_agent": {"name": "builtin", "version": "1"},
        }
    ]
    assert body["signer"]["issuer"] == "Kino (development)"
    assert body["ingredients"] == [
        {"title": "Kino clip by @alice", "relationship": "inputTo", "state": "trusted"}
    ]
    assert [link["author"] for link in body["chain"]] == ["@alice"]


def test_a_tampered_file_answers_invalid(auth_client: Any) -> None:
    owner = UserFactory()
    signed = bytearray(signed_file("x", 33))
    signed[signed.index(b"mdat") + 400] ^= 0x01
    post = PostFactory(owner=owner, video=ContentFile(bytes(signed), name="clip.mp4"))

    body = auth_client(owner).get(f"/api/v1/videos/{post.id}/provenance").json()

    assert body["state"] == "invalid"
    assert "assertion.bmffHash.mismatch" in body["failures"]


def test_someone_elses_draft_is_not_found(auth_client: Any) -> None:
    draft = VideoFactory(video=ContentFile(signed_file("alice", 34), name="clip.mp4"))

    response = auth_client(UserFactory()).get(f"/api/v1/videos/{draft.id}/provenance")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "video_not_found"
    # …while its owner reads it.
    assert auth_client(draft.owner).get(f"/api/v1/videos/{draft.id}/provenance").json()["state"] == "trusted"


def test_anonymous_readers_sign_in_first_as_for_the_video_itself(api: Any) -> None:
    post = PostFactory(video=ContentFile(signed_file("alice", 35), name="clip.mp4"))

    assert api.get(f"/api/v1/videos/{post.id}").status_code == 401
    assert api.get(f"/api/v1/videos/{post.id}/provenance").status_code == 401


def test_a_video_without_a_file_says_so(auth_client: Any) -> None:
    post = PostFactory(video="")

    response = auth_client(post.owner).get(f"/api/v1/videos/{post.id}/provenance")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "provenance_no_file"


def test_the_trust_anchors_are_published_and_are_what_kino_trusts(client: Any, settings: Any) -> None:
    response = client.get("/.well-known/c2pa/trust-anchors.pem")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pem-file"
    assert "public" in response["Cache-Control"]
    assert "max-age=3600" in response["Cache-Control"]
    roots = x509.load_pem_x509_certificates(response.content)
    assert response.content == Path(settings.PROVENANCE_TRUST_ANCHORS).read_bytes()
    assert roots[0].extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_no_trust_anchors_answer_not_found(client: Any, settings: Any, tmp_path: Path) -> None:
    settings.PROVENANCE_DEV_CA = False
    settings.PROVENANCE_TRUST_ANCHORS = tmp_path / "none.pem"

    assert client.get("/.well-known/c2pa/trust-anchors.pem").status_code == 404


# --- the development CA --------------------------------------------------------------------------


def test_the_dev_ca_command_makes_a_ca_once_and_never_overwrites(tmp_path: Path) -> None:
    call_command("provenance_dev_ca", dir=tmp_path)
    files = {
        name: (tmp_path / name).read_bytes()
        for name in ("signer.key", "signer-chain.pem", "trust-anchors.pem")
    }

    call_command("provenance_dev_ca", dir=tmp_path)

    assert {name: (tmp_path / name).read_bytes() for name in files} == files
    assert stat.S_IMODE((tmp_path / "signer.key").stat().st_mode) == 0o600
    leaf = x509.load_pem_x509_certificates(files["signer-chain.pem"])[0]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_partial_dev_ca_is_refused_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "trust-anchors.pem").write_text("an old root")
    paths = {
        "key_path": tmp_path / "signer.key",
        "certs_path": tmp_path / "signer-chain.pem",
        "anchors_path": tmp_path / "trust-anchors.pem",
    }

    with pytest.raises(SigningMisconfigured, match="incomplete"):
        dev_ca_ensure(**paths)

    assert (tmp_path / "trust-anchors.pem").read_text() == "an old root"


def test_two_installations_never_share_a_key(tmp_path: Path) -> None:
    call_command("provenance_dev_ca", dir=tmp_path / "one")
    call_command("provenance_dev_ca", dir=tmp_path / "two")

    assert (tmp_path / "one" / "signer.key").read_bytes() != (tmp_path / "two" / "signer.key").read_bytes()
