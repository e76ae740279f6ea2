"""What other apps may use of `provenance`: these names and nothing else (import-linter holds it).

Each part of provenance appends its names here.
"""

# C2PA: signing what the worker makes (and later edits), reading any file's manifest back.
from provenance.manifests import (
    Creation,
    IngredientRefused,
    SigningFailed,
    manifest_summary,
    mp4_edit_sign,
    mp4_sign,
)
from provenance.signing import SigningMisconfigured

__all__ = [
    "Creation",
    "IngredientRefused",
    "SigningFailed",
    "SigningMisconfigured",
    "manifest_summary",
    "mp4_edit_sign",
    "mp4_sign",
]

# The visible watermark: burned into every clip's frames before encoding; its box, for masking.
from provenance.watermark import READ_THRESHOLD as WATERMARK_READ_THRESHOLD
from provenance.watermark import watermark_box, watermark_burn, watermark_read

__all__ += ["WATERMARK_READ_THRESHOLD", "watermark_box", "watermark_burn", "watermark_read"]

# Fingerprints and the lookup: what the worker stores for every video, what the lookup API asks.
from provenance.fingerprints import ClipPrints, clip_prints, prints_store  # noqa: E402
from provenance.lookup import Verdict, lookup  # noqa: E402

__all__ += ["ClipPrints", "Verdict", "clip_prints", "lookup", "prints_store"]
