"""`manage.py provenance_dev_ca`: a local C2PA root and signer for development (make run does it once).

Writes the key, chain and trust anchor to the configured paths (PROVENANCE_SIGNER_KEY,
PROVENANCE_SIGNER_CERTS, PROVENANCE_TRUST_ANCHORS; under var/c2pa/ by default), or into `--dir`.
Never overwrites: run again, it says the CA is there and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from provenance.signing import SigningMisconfigured, dev_ca_ensure


class Command(BaseCommand):
    help = "Make a local C2PA root CA and an ES256 signer it issues (never overwrites)."
    requires_system_checks: list[str] = []  # the signing check would refuse to run before there is a CA

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            type=Path,
            help="Write signer.key, signer-chain.pem and trust-anchors.pem into this folder",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path | None = options["dir"]
        paths = {
            "key_path": folder / "signer.key" if folder else Path(settings.PROVENANCE_SIGNER_KEY),
            "certs_path": folder / "signer-chain.pem" if folder else Path(settings.PROVENANCE_SIGNER_CERTS),
            "anchors_path": folder / "trust-anchors.pem"
            if folder
            else Path(settings.PROVENANCE_TRUST_ANCHORS),
        }
        try:
            made = dev_ca_ensure(**paths)
        except SigningMisconfigured as exc:
            raise CommandError(str(exc)) from exc
        if made:
            self.stdout.write(f"  C2PA development CA made: trust anchor {paths['anchors_path']}")
        elif options["verbosity"] > 1:
            self.stdout.write(f"  C2PA development CA already there: {paths['anchors_path']}")
