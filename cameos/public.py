"""What other apps may use of `cameos`: these names and nothing else (import-linter holds it).

Plain frozen dataclasses cross this line (`CameoCast`, `ConsentDecision`, `CameoEvent`), never
model instances. The consent contract (generation asks it at the request, in the worker and under
lock before the draft):

- `cameo_handles_in_prompt(prompt)`: the @handles in order, lowercased, unique.
- `consent_decide(user_id=, handles=, prompt=, teen=, lock=False)`: one `ConsentDecision` per
  handle (a pure read; `lock=True` inside an atomic block takes FOR SHARE on the cameo rows, so it
  serializes with a revocation, which takes FOR UPDATE and bumps `consent_version`).
- `consent_require(...)`: the casts, or KinoError for the first refusal (field "cameos";
  `too_many_cameos` beyond MAX_CAMEOS; `cameo_restriction` quotes the restriction).
- `cameo_uses_record(...)`: the usage log (stage "draft" + allowed + video_id tells the owner).
- `cameo_references`, `cameo_face_embeddings`, `cameo_owner_of`: what engines, screening and
  feed's oversight read; `cameo_handles`: the handles of cameos a clip carries over from another.
- `cameo_listener_register(listener)`: CameoEvents, inside the transaction that makes the change.
"""

from typing import Any
from uuid import UUID

from cameos.consent import (
    MAX_CAMEOS,
    CameoCast,
    ConsentDecision,
    cameo_handles_in_prompt,
    consent_decide,
    consent_error,
    consent_require,
)
from cameos.errors import (
    CAMEO_CONSENT_REVOKED,
    CAMEO_NOT_FOUND,
    CAMEO_PERMISSION_DENIED,
    CAMEO_RESTRICTION,
    TOO_MANY_CAMEOS,
)
from cameos.hooks import CameoEvent, CameoListener, cameo_listener_register, cameo_listener_unregister
from cameos.selectors import cameo_face_embeddings, cameo_handles, cameo_owner_of, cameo_references
from cameos.services import cameo_uses_record

__all__ = [
    "CAMEO_CONSENT_REVOKED",
    "CAMEO_NOT_FOUND",
    "CAMEO_PERMISSION_DENIED",
    "CAMEO_RESTRICTION",
    "MAX_CAMEOS",
    "TOO_MANY_CAMEOS",
    "CameoCast",
    "CameoEvent",
    "CameoListener",
    "ConsentDecision",
    "cameo_face_embeddings",
    "cameo_handles",
    "cameo_handles_in_prompt",
    "cameo_listener_register",
    "cameo_listener_unregister",
    "cameo_owner_of",
    "cameo_references",
    "cameo_uses_record",
    "cameos_usable_by_member",
    "consent_decide",
    "consent_error",
    "consent_require",
]


def cameos_usable_by_member(*, user_id: UUID) -> Any:
    """The live cameos the member may cast now (their own and others' they may use), with the owner
    and profile, as a query for another app to filter and order (search finds them by handle)."""
    from cameos.selectors import cameos_usable_by

    return cameos_usable_by(user_id=user_id).select_related("owner__profile")
