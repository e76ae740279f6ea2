"""Cameos' part of a member's data export (folder "cameos" of the zip):

- cameos.json: each of their cameos (deleted ones too, with what is left of them): kind, handle,
  level, state, display name, personality, preferences, restrictions, whether a face or voice
  embedding is stored (never the values: they are biometric templates, useless to the member and
  dangerous in a leaked zip), the reference images' files in the zip, and the approvals they gave
  (who asked, the state, when);
- requests.json: the approvals they asked for on others' cameos (the cameo's handle, the state);
- uses.json: the usage log of their cameos (who, when, job, stage, decision, code, prompt: what
  they see in GET /cameos/{id}/uses) and their own uses of anyone's cameos.
"""

from __future__ import annotations

import posixpath
from typing import Any
from uuid import UUID

from accounts.public import ExportPart, ExportSink, export_part_register
from cameos.models import Approval, Cameo, CameoReference, Restriction, Use

CAMEO_FIELDS = (
    "id",
    "kind",
    "handle",
    "display_name",
    "personality",
    "preferences",
    "level",
    "state",
    "consent_version",
    "created_at",
    "updated_at",
    "deleted_at",
)
USE_FIELDS = ("id", "cameo_id", "user_id", "job_id", "video_id", "stage", "allowed", "code", "created_at")


def _references_write(cameo_ids: list[UUID], sink: ExportSink) -> dict[UUID, list[str]]:
    files: dict[UUID, list[str]] = {cameo_id: [] for cameo_id in cameo_ids}
    refs = CameoReference.objects.filter(cameo_id__in=cameo_ids).order_by("cameo_id", "position")
    for ref in refs.values("cameo_id", "id", "image"):
        if ref["image"]:
            name = f"{ref['cameo_id']}/reference-{ref['id']}{posixpath.splitext(ref['image'])[1].lower()}"
            sink.write_file(name, ref["image"])
            files[ref["cameo_id"]].append(f"cameos/{name}")
    return files


def _cameos(user_id: UUID, sink: ExportSink) -> list[dict[str, Any]]:
    cameos = list(
        Cameo.objects.filter(owner_id=user_id)
        .order_by("created_at", "id")
        .values(*CAMEO_FIELDS, "face_embedding", "voice_embedding")
    )
    ids = [c["id"] for c in cameos]
    files = _references_write(ids, sink)
    restrictions: dict[UUID, list[str]] = {}
    for cameo_id, text in Restriction.objects.filter(cameo_id__in=ids).values_list("cameo_id", "text"):
        restrictions.setdefault(cameo_id, []).append(text)
    approvals: dict[UUID, list[dict[str, Any]]] = {}
    rows = Approval.objects.filter(cameo_id__in=ids).order_by("created_at", "id")
    for row in rows.values("cameo_id", "user__username", "state", "message", "created_at", "decided_at"):
        given = {k: v for k, v in row.items() if k not in ("cameo_id", "user__username")}
        approvals.setdefault(row["cameo_id"], []).append({"user": row["user__username"], **given})
    out = []
    for cameo in cameos:
        record = {field: cameo[field] for field in CAMEO_FIELDS}
        record["face_embedding_stored"] = cameo["face_embedding"] is not None
        record["voice_embedding_stored"] = cameo["voice_embedding"] is not None
        record["restrictions"] = restrictions.get(cameo["id"], [])
        record["reference_images"] = files[cameo["id"]]
        record["approvals_given"] = approvals.get(cameo["id"], [])
        out.append(record)
    return out


def _cameos_write(user_id: UUID, sink: ExportSink) -> None:
    sink.write_json("cameos.json", _cameos(user_id, sink))
    asked = Approval.objects.filter(user_id=user_id).order_by("created_at", "id")
    sink.write_json(
        "requests.json",
        list(asked.values("cameo_id", "cameo__handle", "state", "message", "created_at", "decided_at")),
    )
    # The uses of their cameos (others' prompts included: the owner sees them in the usage log
    # already), and their own uses of anyone's cameos.
    of_mine = Use.objects.filter(cameo__owner_id=user_id).order_by("created_at", "id")
    by_me = Use.objects.filter(user_id=user_id).order_by("created_at", "id")
    sink.write_json(
        "uses.json",
        {
            "of_my_cameos": list(of_mine.values(*USE_FIELDS, "prompt").iterator(chunk_size=2000)),
            "by_me": list(by_me.values(*USE_FIELDS, "cameo__handle", "prompt").iterator(chunk_size=2000)),
        },
    )


PART = ExportPart(name="cameos", write=_cameos_write)


def export_hooks_register() -> None:
    export_part_register(PART)
