"""What moderation may do to cameos: the subject handler for kind "cameo" (registered from
CameosConfig.ready; moderation sits below cameos). A report on a cameo names it by id; a reporter
must be able to see it (else 404, as everywhere); a take-down suspends it (nobody may cast it, the
jobs casting it stop) and a restore makes it active again."""

from __future__ import annotations

from uuid import UUID

from cameos.models import Cameo, CameoReference, Registration
from cameos.selectors import cameos_visible_to
from cameos.services import cameo_restore, cameo_suspend
from moderation.public import SubjectHandler, SubjectView, subject_handler_register


def cameo_describe(cameo_id: UUID, viewer_id: UUID | None) -> SubjectView | None:
    # A member whose registration was refused as this cameo's likeness may report it (impersonation:
    # the registration's review files that report) though the cameo is hidden from them.
    conflicted = (
        viewer_id is not None
        and Registration.objects.filter(owner_id=viewer_id, conflict_cameo_id=cameo_id).exists()
    )
    hidden_ok = viewer_id is None or conflicted
    cameos = cameos_visible_to(user_id=viewer_id) if viewer_id and not hidden_ok else Cameo.objects.all()
    cameo = cameos.select_related("owner").filter(id=cameo_id).first()
    if cameo is None:
        return None
    text = " / ".join(t for t in (cameo.display_name, cameo.personality, cameo.preferences) if t)
    return SubjectView(
        kind="cameo",
        id=cameo.id,
        owner_id=cameo.owner_id,
        title=f"Cameo @{cameo.handle} ({cameo.kind}) of @{cameo.owner.username}",
        text=text,
        state=cameo.state,
    )


def cameo_take_down(cameo_id: UUID, moderator_id: UUID | None, reason: str) -> None:
    cameo_suspend(cameo_id=cameo_id, moderator_id=moderator_id, reason=reason)


def cameo_bring_back(cameo_id: UUID, moderator_id: UUID | None) -> None:
    cameo_restore(cameo_id=cameo_id, moderator_id=moderator_id)


def cameo_poster(cameo_id: UUID) -> bytes | None:
    """The first reference image (a face crop or a character's picture)."""
    ref = CameoReference.objects.filter(cameo_id=cameo_id).order_by("position").first()
    if ref is None or not ref.image.name:
        return None
    with ref.image.open("rb") as f:
        return f.read()


def moderation_hooks_register() -> None:
    subject_handler_register(
        "cameo",
        SubjectHandler(
            describe=cameo_describe, take_down=cameo_take_down, restore=cameo_bring_back, poster=cameo_poster
        ),
    )
