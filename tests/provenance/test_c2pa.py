"""C2PA manifests: what Kino signs into its MP4s, how any file reads back, and signing's loud failures.

Kino's own CA is the development one the test process makes on first use under the var dir (as
every process with the default paths does); a foreign CA is made per test in a temporary folder.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mediakit.clip import Clip
from mediakit.encode import clip_encode
from provenance import manifests
from provenance.checks import signing_check
from provenance.manifests import manifest_store
from provenance.public import (
    Creation,
    IngredientRefused,
    SigningFailed,
    SigningMisconfigured,
    manifest_summary,
    mp4_edit_sign,
    mp4_sign,
)
from provenance.signing import dev_ca_make

AI_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def clip_mp4(seed: int, frames: int = 12) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (frames, 32, 32, 3), dtype=np.uint8)
    return clip_encode(Clip(frames=pixels, fps=12.0), min_short_side=64).mp4


def creation(handle: str = "alice", parent: bytes | None = None) -> Creation:
    return Creation(engine="builtin", model_version="kino-av-1", handle=handle, parent_mp4=parent)


def ca_folder(folder: Path, organisation: str = "Elsewhere Inc") -> dict[str, Path]:
    """A CA of someone else's, written as Kino's three settings would name it."""
    folder.mkdir(parents=True, exist_ok=True)
    key, chain, root = dev_ca_make(organisation)
    paths = {
        "PROVENANCE_SIGNER_KEY": folder / "signer.key",
        "PROVENANCE_SIGNER_CERTS": folder / "signer-chain.pem",
        "PROVENANCE_TRUST_ANCHORS": folder / "trust-anchors.pem",
    }
    for path, data in zip(paths.values(), (key, chain, root), strict=True):
        path.write_bytes(data)
    return paths


def use_paths(settings: Any, paths: dict[str, Path]) -> None:
    for name, path in paths.items():
        setattr(settings, name, path)
    settings.PROVENANCE_DEV_CA = False


def media_byte_flipped(mp4: bytes) -> bytes:
    """One byte of the coded frames changed (inside `mdat`, well past its header)."""
    at = mp4.index(b"mdat") + 400
    changed = bytearray(mp4)
    changed[at] ^= 0x01
    return bytes(changed)


# --- signing and reading -------------------------------------------------------------------------


def test_a_published_file_reads_valid_and_trusted() -> None:
    signed = mp4_sign(clip_mp4(1), creation("alice"))

    summary = manifest_summary(signed)

    assert summary["state"] == "trusted"
    assert summary["failures"] == []
    assert summary["actions"] == [
        {
            "action": "c2pa.created",
            "digital_source_type": AI_MEDIA,
            "software_agent": {"name": "builtin", "version": "kino-av-1"},
        }
    ]
    assert summary["claim_generator"]["name"] == "Kino"
    assert summary["claim_generator"]["version"]
    assert summary["author"] == "@alice"
    assert summary["signer"]["issuer"] == "Kino (development)"
    assert summary["ingredients"] == []
    assert summary["chain"] == []


def test_the_manifest_says_nothing_of_a_person_but_the_handle() -> None:
    signed = mp4_sign(clip_mp4(2), Creation(engine="builtin", model_version="1", handle="@alice"))

    store = json.dumps(manifest_store(signed))

    assert "@alice" in store
    assert "@@alice" not in store
    assert "prompt" not in store.lower()


def test_flipping_one_byte_of_the_media_reads_invalid() -> None:
    signed = mp4_sign(clip_mp4(3), creation())
    assert manifest_summary(signed)["state"] == "trusted"

    summary = manifest_summary(media_byte_flipped(signed))

    assert summary["state"] == "invalid"
    assert "assertion.bmffHash.mismatch" in summary["failures"]


@pytest.mark.parametrize(
    "data",
    [pytest.param(None, id="an unsigned mp4"), pytest.param(b"", id="no bytes at all")],
)
def test_a_file_without_a_manifest_reads_none_or_unreadable(data: bytes | None) -> None:
    summary = manifest_summary(clip_mp4(4) if data is None else data)

    assert summary["state"] == ("none" if data is None else "invalid")
    assert summary["actions"] == []
    assert summary["signer"] is None


def test_a_remix_names_its_parent_as_input_to_and_the_chain_reads_three_generations() -> None:
    grandparent = mp4_sign(clip_mp4(5), creation("alice"))
    parent = mp4_sign(clip_mp4(6), creation("bob", parent=grandparent))

    child = manifest_summary(mp4_sign(clip_mp4(7), creation("carol", parent=parent)))

    assert child["state"] == "trusted"
    assert child["author"] == "@carol"
    assert child["ingredients"] == [
        {"title": "Kino clip by @bob", "relationship": "inputTo", "state": "trusted"}
    ]
    assert [(link["author"], link["relationship"], link["state"]) for link in child["chain"]] == [
        ("@bob", "inputTo", "trusted"),
        ("@alice", "inputTo", "trusted"),
    ]
    assert all(link["actions"][0]["digital_source_type"] == AI_MEDIA for link in child["chain"])


def test_a_file_from_a_foreign_ca_reads_valid_but_untrusted(settings: Any, tmp_path: Path) -> None:
    kino = {name: getattr(settings, name) for name in ("PROVENANCE_SIGNER_KEY", "PROVENANCE_SIGNER_CERTS")}
    kino_anchors = manifests.trust_anchors_pem()
    use_paths(settings, ca_folder(tmp_path / "elsewhere"))
    foreign = mp4_sign(clip_mp4(8), creation("mallory"))
    assert manifest_summary(foreign)["state"] == "trusted"  # its own CA trusts it
    use_paths(settings, {**kino, "PROVENANCE_TRUST_ANCHORS": tmp_path / "kino-anchors.pem"})
    (tmp_path / "kino-anchors.pem").write_text(kino_anchors)

    summary = manifest_summary(foreign)

    assert summary["state"] == "valid-untrusted"
    assert summary["failures"] == ["signingCredential.untrusted"]
    assert summary["signer"]["issuer"] == "Elsewhere Inc"


def test_the_create_intent_refuses_a_parent_of_ingredient() -> None:
    parent = mp4_sign(clip_mp4(9), creation("alice"))

    with pytest.raises(SigningFailed, match="ParentOf ingredient with a Create intent"):
        manifests._sign(
            clip_mp4(10),
            intent=manifests.c2pa.C2paBuilderIntent.CREATE,
            handle="bob",
            templates=[manifests._agent_template("c2pa.created", "builtin", "1")],
            ingredients=[(parent, "parentOf")],
        )


def test_an_extension_is_an_edit_of_its_parent_and_keeps_the_chain() -> None:
    original = mp4_sign(clip_mp4(11), creation("alice"))
    remix = mp4_sign(clip_mp4(12), creation("bob", parent=original))

    extended = manifest_summary(
        mp4_edit_sign(
            clip_mp4(13, frames=24),
            parents=[remix],
            relationship="parentOf",
            handle="bob",
            engine="builtin",
            model_version="kino-av-1",
        )
    )

    assert extended["state"] == "trusted"
    assert extended["actions"] == [
        {
            "action": "c2pa.opened",
            "digital_source_type": None,
            "software_agent": {"name": "builtin", "version": "kino-av-1"},
        }
    ]
    assert [(link["author"], link["relationship"]) for link in extended["chain"]] == [
        ("@bob", "parentOf"),
        ("@alice", "inputTo"),
    ]


def test_a_stitch_places_each_component() -> None:
    first, second = mp4_sign(clip_mp4(14), creation("alice")), mp4_sign(clip_mp4(15), creation("bob"))

    stitched = manifest_summary(
        mp4_edit_sign(
            clip_mp4(16, frames=24), parents=[first, second], relationship="componentOf", handle="carol"
        )
    )

    assert stitched["state"] == "trusted"
    components = [item for item in stitched["ingredients"] if item["relationship"] == "componentOf"]
    assert [(item["title"], item["state"]) for item in components] == [
        ("Kino clip by @alice", "trusted"),
        ("Kino clip by @bob", "trusted"),
    ]
    assert [action["action"] for action in stitched["actions"]].count("c2pa.placed") == 2


def test_an_edit_has_exactly_one_parent() -> None:
    with pytest.raises(ValueError, match="exactly one parentOf"):
        mp4_edit_sign(clip_mp4(17), parents=[b"a", b"b"], relationship="parentOf", handle="alice")


# --- loud failures -------------------------------------------------------------------------------


def test_signing_off_returns_the_file_unchanged_and_the_check_is_quiet(settings: Any) -> None:
    settings.PROVENANCE_SIGNING = False
    settings.PROVENANCE_SIGNER_KEY = Path("/nonexistent/signer.key")
    mp4 = clip_mp4(18)

    assert mp4_sign(mp4, creation()) == mp4
    assert signing_check() == []


def test_the_configured_ca_passes_the_boot_check() -> None:
    assert signing_check() == []


def expired_signer(folder: Path) -> dict[str, Path]:
    """A signer whose certificate ran out yesterday, under its own root (trusted, in date)."""
    paths = ca_folder(folder)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Old root")])
    now = dt.datetime.now(dt.UTC)
    key = serialization.load_pem_private_key(paths["PROVENANCE_SIGNER_KEY"].read_bytes(), password=None)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Old signer")]))
        .issuer_name(root_name)
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now - dt.timedelta(days=1))
        .sign(root_key, hashes.SHA256())
    )
    paths["PROVENANCE_SIGNER_CERTS"].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return paths


def misconfigured(case: str, folder: Path) -> dict[str, Path]:
    paths = ca_folder(folder / "mine")
    if case == "key missing":
        paths["PROVENANCE_SIGNER_KEY"].unlink()
    elif case == "chain unreadable":
        paths["PROVENANCE_SIGNER_CERTS"].write_text("not a certificate")
    elif case == "key of another chain":
        paths["PROVENANCE_SIGNER_KEY"] = ca_folder(folder / "other")["PROVENANCE_SIGNER_KEY"]
    elif case == "certificate expired":
        paths = expired_signer(folder / "expired")
    return paths


@pytest.mark.parametrize(
    "case", ["key missing", "chain unreadable", "key of another chain", "certificate expired"]
)
def test_misconfigured_credentials_stop_the_boot_and_refuse_to_sign(
    case: str, settings: Any, tmp_path: Path
) -> None:
    use_paths(settings, misconfigured(case, tmp_path))

    problems = signing_check()

    assert [problem.id for problem in problems] == ["kino.provenance.E001"]
    with pytest.raises(SigningMisconfigured):
        mp4_sign(clip_mp4(19), creation())


def test_a_chain_that_does_not_lead_to_the_trust_anchors_stops_the_boot(
    settings: Any, tmp_path: Path
) -> None:
    mine, anchors_elsewhere = ca_folder(tmp_path / "mine"), ca_folder(tmp_path / "elsewhere")
    use_paths(settings, {**mine, "PROVENANCE_TRUST_ANCHORS": anchors_elsewhere["PROVENANCE_TRUST_ANCHORS"]})

    problems = signing_check()

    assert [problem.id for problem in problems] == ["kino.provenance.E003"]
    assert "valid-untrusted" in problems[0].msg


def test_a_certificate_c2pa_refuses_stops_the_boot(settings: Any, tmp_path: Path) -> None:
    """A self-signed CA certificate as the signer (no key usage, no extended key usage): outside the
    profile C2PA asks of a signer, though the key matches and the anchor names it."""
    paths = ca_folder(tmp_path / "mine")
    root_pem = paths["PROVENANCE_TRUST_ANCHORS"].read_bytes()
    root = x509.load_pem_x509_certificate(root_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    self_signed = (
        x509.CertificateBuilder()
        .subject_name(root.subject)
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = self_signed.public_bytes(serialization.Encoding.PEM)
    paths["PROVENANCE_SIGNER_CERTS"].write_bytes(pem)
    paths["PROVENANCE_TRUST_ANCHORS"].write_bytes(pem)
    paths["PROVENANCE_SIGNER_KEY"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    use_paths(settings, paths)

    problems = signing_check()

    assert [problem.id for problem in problems] == ["kino.provenance.E002"]
    assert "self-signed" in problems[0].msg
    with pytest.raises(SigningFailed):
        mp4_sign(clip_mp4(20), creation())


def test_a_parent_file_c2pa_cannot_read_is_refused_as_an_ingredient_only() -> None:
    with pytest.raises(IngredientRefused):
        mp4_sign(clip_mp4(8), creation("carol", parent=b"not an mp4 at all"))
    assert manifest_summary(mp4_sign(clip_mp4(8), creation("carol")))["state"] == "trusted"
