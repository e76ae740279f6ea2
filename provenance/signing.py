"""Kino's C2PA credentials: the signing key, its certificate chain and the trust anchors (settings).

Production sets the three paths (a key and chain from a CA whose root readers trust). Elsewhere, with
the paths left at their defaults (`PROVENANCE_DEV_CA`), the first process that signs makes a local
development CA under var/c2pa/ (`dev_ca_create`, also `manage.py provenance_dev_ca`): a root that
becomes the trust anchor and an ES256 signer it issues. The root's key is not kept: nothing can
issue a second signer under it, and a new CA is a matter of deleting the folder.

The signer's certificate must fit C2PA's profile of an end-entity certificate, which c2pa-rs checks
before it signs or trusts: X.509 v3, not a CA, a critical key usage with digitalSignature (and no
keyCertSign), an extended key usage it accepts (Kino's dev signer has emailProtection; never
anyExtendedKeyUsage), an authority key identifier, inside its validity. `signing_material` checks
what it can read itself and says which file is wrong; the boot check (provenance/checks.py) then
signs a tiny clip, which catches the rest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import c2pa
import fasteners
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

DEV_ROOT_DAYS = 3650
# Without a timestamp authority a manifest is judged by the signer's validity today: a dev signer
# lives long enough that the files of a development database do not expire under it.
DEV_SIGNER_DAYS = 5 * 365
_CURVE_ALGORITHMS = {"secp256r1": c2pa.C2paSigningAlg.ES256, "secp384r1": c2pa.C2paSigningAlg.ES384}
_CURVE_ALGORITHMS["secp521r1"] = c2pa.C2paSigningAlg.ES512


T = TypeVar("T")


class SigningMisconfigured(RuntimeError):
    """Signing is on, but the key, chain or trust anchors cannot sign a manifest readers accept."""


@dataclass(frozen=True)
class SigningMaterial:
    key_pem: bytes = b""
    chain_pem: bytes = b""
    anchors_pem: str = ""
    algorithm: c2pa.C2paSigningAlg = c2pa.C2paSigningAlg.ES256
    tsa_url: str | None = None

    def signer(self) -> c2pa.Signer:
        info = c2pa.C2paSignerInfo(self.algorithm, self.chain_pem, self.key_pem, self.tsa_url)
        return c2pa.Signer.from_info(info)


def signing_material() -> SigningMaterial:
    """The configured key, chain and anchors, checked against each other (`SigningMisconfigured`)."""
    key_path = Path(settings.PROVENANCE_SIGNER_KEY)
    certs_path = Path(settings.PROVENANCE_SIGNER_CERTS)
    anchors_path = Path(settings.PROVENANCE_TRUST_ANCHORS)
    if settings.PROVENANCE_DEV_CA:
        dev_ca_ensure(key_path=key_path, certs_path=certs_path, anchors_path=anchors_path)
    key_pem, chain_pem = (
        _read("PROVENANCE_SIGNER_KEY", key_path),
        _read("PROVENANCE_SIGNER_CERTS", certs_path),
    )
    anchors_pem = _read("PROVENANCE_TRUST_ANCHORS", anchors_path).decode()
    key = _load(
        "PROVENANCE_SIGNER_KEY", key_path, lambda: serialization.load_pem_private_key(key_pem, password=None)
    )
    chain = _load("PROVENANCE_SIGNER_CERTS", certs_path, lambda: x509.load_pem_x509_certificates(chain_pem))
    _load(
        "PROVENANCE_TRUST_ANCHORS",
        anchors_path,
        lambda: x509.load_pem_x509_certificates(anchors_pem.encode()),
    )
    _check_leaf(chain[0], key, certs_path)
    return SigningMaterial(
        key_pem=key_pem,
        chain_pem=chain_pem,
        anchors_pem=anchors_pem,
        algorithm=_algorithm(key, key_path),
        tsa_url=settings.PROVENANCE_TSA_URL or None,
    )


def trust_anchors_pem() -> str:
    """The roots Kino trusts when it reads a manifest ("" when there are none to read)."""
    path = Path(settings.PROVENANCE_TRUST_ANCHORS)
    if settings.PROVENANCE_DEV_CA and not path.exists():
        # A reader before the first signer (a fresh `make run` answering a request): the dev CA
        # whose root it will trust. A broken one reads as no anchors; the boot check says why.
        with contextlib.suppress(SigningMisconfigured):
            dev_ca_ensure(
                key_path=Path(settings.PROVENANCE_SIGNER_KEY),
                certs_path=Path(settings.PROVENANCE_SIGNER_CERTS),
                anchors_path=path,
            )
    try:
        return path.read_text()
    except OSError:
        return ""


def _read(setting: str, path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningMisconfigured(f"{setting} ({path}) cannot be read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise SigningMisconfigured(f"{setting} ({path}) is empty.")
    return data


def _load(setting: str, path: Path, parse: Callable[[], T]) -> T:
    try:
        return parse()
    except (ValueError, TypeError) as exc:
        raise SigningMisconfigured(f"{setting} ({path}) is not PEM that Kino can use: {exc}") from exc


def _check_leaf(leaf: x509.Certificate, key: object, certs_path: Path) -> None:
    """The first certificate must be the key's own and valid today."""
    public = key.public_key()  # type: ignore[attr-defined]
    if public.public_bytes(*_SPKI) != leaf.public_key().public_bytes(*_SPKI):
        raise SigningMisconfigured(
            f"PROVENANCE_SIGNER_CERTS ({certs_path}) does not start with the certificate of "
            "PROVENANCE_SIGNER_KEY: the chain must begin with the signer's own certificate."
        )
    now = dt.datetime.now(dt.UTC)
    if now < leaf.not_valid_before_utc or now > leaf.not_valid_after_utc:
        raise SigningMisconfigured(
            f"The signer's certificate ({certs_path}) is valid from {leaf.not_valid_before_utc:%Y-%m-%d} "
            f"to {leaf.not_valid_after_utc:%Y-%m-%d}, not today."
        )


_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _algorithm(key: object, key_path: Path) -> c2pa.C2paSigningAlg:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVE_ALGORITHMS:
        return _CURVE_ALGORITHMS[key.curve.name]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return c2pa.C2paSigningAlg.ED25519
    if isinstance(key, rsa.RSAPrivateKey):
        return c2pa.C2paSigningAlg.PS256  # C2PA allows RSA only with PSS padding
    raise SigningMisconfigured(
        f"PROVENANCE_SIGNER_KEY ({key_path}) is a key C2PA cannot sign with; "
        "use EC P-256/384/521, Ed25519 or RSA."
    )


# --- the development CA --------------------------------------------------------------------------


def dev_ca_ensure(*, key_path: Path, certs_path: Path, anchors_path: Path) -> bool:
    """Make the development CA when none of its three files exists; True when it was made now.

    Never overwrites: one file present and another missing is a broken installation that a person
    must look at (`SigningMisconfigured`). Safe across processes (the web server and the workers
    start together): one makes it, the others wait and find it made.
    """
    paths = (key_path, certs_path, anchors_path)
    if all(path.exists() for path in paths):
        return False
    key_path.parent.mkdir(parents=True, exist_ok=True)
    with fasteners.InterProcessLock(str(key_path) + ".lock"):
        present = [path for path in paths if path.exists()]
        if len(present) == len(paths):
            return False
        if present:
            raise SigningMisconfigured(
                f"The development CA is incomplete: {', '.join(map(str, present))} exist(s) but not all of "
                f"{', '.join(map(str, paths))}. Kino never overwrites keys: "
                "remove the folder to make a new CA."
            )
        key_pem, chain_pem, root_pem = dev_ca_make()
        _write(anchors_path, root_pem, mode=0o644)
        _write(certs_path, chain_pem, mode=0o644)
        _write(key_path, key_pem, mode=0o600)  # last: its presence says the CA is whole
    return True


def dev_ca_make(organisation: str = "Kino (development)") -> tuple[bytes, bytes, bytes]:
    """A new root CA and an ES256 signer it issues: (signer key, signer + root chain, root), PEM."""
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(organisation, f"{organisation} C2PA root")
    root = (
        _certificate(root_name, root_name, root_key.public_key(), now, DEV_ROOT_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        _certificate(
            _name(organisation, f"{organisation} C2PA signer"),
            root_name,
            signer_key.public_key(),
            now,
            DEV_SIGNER_DAYS,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    root_pem = root.public_bytes(serialization.Encoding.PEM)
    key_pem = signer_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, signer.public_bytes(serialization.Encoding.PEM) + root_pem, root_pem


def _name(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: dt.datetime, days: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # a clock a little behind still accepts it
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write(path: Path, data: bytes, *, mode: int) -> None:
    """Whole or not at all, with its mode from the start (a key is never readable by others)."""
    draft = path.with_name(path.name + ".new")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(draft, path)
