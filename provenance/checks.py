"""The boot check of C2PA signing: with signing on, a process that cannot sign does not start.

It signs a tiny clip and reads it back with Kino's trust anchors, so everything that would fail the
first real clip fails here instead, in `manage.py check`, `migrate`, and uvicorn and the Celery
workers before they serve (config/boot.py): a key or chain missing, unreadable, mismatched or
expired, a certificate c2pa refuses, or a chain that does not lead to PROVENANCE_TRUST_ANCHORS (the
files would read "valid-untrusted" everywhere). About 25 ms.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from mediakit.clip import Clip
from mediakit.encode import clip_encode
from provenance.manifests import Creation, SigningFailed, manifest_summary, mp4_sign
from provenance.signing import SigningMisconfigured

HINT = (
    "Set PROVENANCE_SIGNER_KEY, PROVENANCE_SIGNER_CERTS and PROVENANCE_TRUST_ANCHORS (PEM files), or "
    "PROVENANCE_SIGNING=false to make unsigned files; `manage.py provenance_dev_ca` makes a local CA."
)


@register("kino")
def signing_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.PROVENANCE_SIGNING:
        return []
    try:
        signed = mp4_sign(_tiny_mp4(), Creation(engine="boot-check", model_version="0", handle="kino"))
    except SigningMisconfigured as exc:
        return [Error(f"C2PA signing is on but misconfigured: {exc}", hint=HINT, id="kino.provenance.E001")]
    except SigningFailed as exc:
        return [
            Error(f"C2PA signing is on but c2pa will not sign: {exc}", hint=HINT, id="kino.provenance.E002")
        ]
    summary = manifest_summary(signed)
    if summary["state"] != "trusted":
        return [
            Error(
                f"A clip Kino signs reads as {summary['state']!r}, not 'trusted' "
                f"({', '.join(summary['failures']) or 'the signer does not chain to a trust anchor'}): "
                "PROVENANCE_SIGNER_CERTS must lead to a root in PROVENANCE_TRUST_ANCHORS.",
                hint=HINT,
                id="kino.provenance.E003",
            )
        ]
    return []


@cache
def _tiny_mp4() -> bytes:
    return clip_encode(Clip(frames=np.zeros((2, 16, 16, 3), np.uint8), fps=2.0), min_short_side=16).mp4
