"""Faces: the models load without face_recognition_models' own __init__; the registry embeds one
face per photo; public figures' photos, transformed as a re-upload would be, are blocked as start
images and avatars; six private people are not public figures (but are real people in a start image);
a false face (the mission patch) matches nothing; with the models unloadable everything fails closed."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from moderation.likeness.faces import faces_find
from moderation.likeness.loader import face_models, model_folder
from moderation.likeness.registry import faces_nearest, figure_face_add
from moderation.models import AuditEntry, FigureFace, PublicFigure
from moderation.public import ScreeningUnavailable, image_screen
from tests.factories import UserFactory
from tests.moderation.likeness import (
    ASTRONAUT,
    MISSION_PATCH,
    SIX_BOXES,
    SIX_PEOPLE,
    TOM_HANKS,
    TRANSFORMS,
    encoded,
    image,
    register_figures,
    transformed,
)

pytestmark = pytest.mark.django_db

PROMPT = {"prompt": "a walk on the beach at dusk", "duration_s": 4, "aspect": "portrait"}


def overlap(box, other) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    left, top = max(box[0], other[0]), max(box[1], other[1])
    right, bottom = min(box[2], other[2]), min(box[3], other[3])
    inter = max(0, right - left) * max(0, bottom - top)
    area = (box[2] - box[0]) * (box[3] - box[1]) + (other[2] - other[0]) * (other[3] - other[1])
    return inter / (area - inter)


def upload(data: bytes, name: str = "start.png") -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


@pytest.fixture
def figures():
    return register_figures()


@pytest.fixture
def faces_unloadable(settings, tmp_path):
    """The face model files replaced by damaged ones: loading them fails."""
    folder = tmp_path / "damaged-models"
    folder.mkdir()
    for name in ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat"):
        (folder / name).write_bytes(b"not a dlib model")
    settings.MODERATION_FACE_MODEL_DIR = str(folder)
    return folder


def test_the_models_load_from_the_package_folder_without_importing_the_package():
    models = face_models()
    assert models.folder == model_folder()
    assert (models.folder / "dlib_face_recognition_resnet_model_v1.dat").is_file()
    assert "face_recognition_models" not in sys.modules  # its __init__ needs pkg_resources
    assert face_models() is models  # once per process


def test_a_tiny_photo_is_enlarged_enough_to_find_its_face():
    faces = faces_find([np.asarray(image(TOM_HANKS))], min_face=0.08)
    assert len(faces) == 1
    assert overlap(faces[0].box, (13, 31, 91, 109)) > 0.8
    assert faces[0].descriptor.shape == (128,)


def test_the_six_private_people_are_each_found_and_all_distinct():
    faces = faces_find([np.asarray(image(SIX_PEOPLE))], min_face=0.08)
    assert len(faces) == 6
    for box in SIX_BOXES:
        assert max(overlap(box, face.box) for face in faces) > 0.6, box
    distances = [
        np.linalg.norm(a.descriptor - b.descriptor) for i, a in enumerate(faces) for b in faces[i + 1 :]
    ]
    assert min(distances) > 0.6  # six different people, as the README says


def test_a_reference_photo_is_embedded_on_save_and_audited(figures):
    face = FigureFace.objects.get(figure=figures["hanks"])
    assert len(face.embedding) == 128
    assert face.photo.name.endswith(".webp")
    assert overlap(face.box, (13, 31, 91, 109)) > 0.8
    entry = AuditEntry.objects.get(action="registry.face_add", subject_id=str(figures["hanks"].id))
    assert entry.after["face_id"] == str(face.id)


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        pytest.param(lambda: encoded(Image.new("RGB", (300, 300), (120, 160, 200))), "No face", id="no-face"),
        pytest.param(lambda: SIX_PEOPLE.read_bytes(), "shows 6 faces", id="six-faces"),
        pytest.param(lambda: b"GIF89a not an image at all", "", id="not-an-image"),
    ],
)
def test_a_reference_photo_without_exactly_one_face_is_refused_with_a_message(photo, message):
    figure = PublicFigure.objects.create(name="Someone Famous")
    with pytest.raises(ValidationError) as refused:
        figure_face_add(figure=figure, image=photo(), filename="photo.png")
    assert message in " ".join(refused.value.messages)
    assert not FigureFace.objects.exists()


@pytest.mark.parametrize("how", TRANSFORMS)
@pytest.mark.parametrize("who", ["hanks", "collins"])
def test_a_public_figures_photo_transformed_is_blocked_as_a_start_image(figures, auth_client, how, who):
    picture = transformed(image(TOM_HANKS if who == "hanks" else ASTRONAUT), how)
    member = UserFactory()
    response = auth_client(member).post(
        "/api/v1/generations", {**PROMPT, "start_image": upload(encoded(picture))}, format="multipart"
    )
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "likeness_public_figure"
    assert error["fields"]["start_image"][0]["code"] == "likeness_public_figure"
    assert "Hanks" not in str(error)
    assert "Collins" not in str(error)
    entry = AuditEntry.objects.filter(action="screen.start_image", subject_id=str(member.id)).get()
    assert entry.reason_code == "likeness_public_figure"
    assert {m["figure_id"] for m in entry.detail["matches"]} == {str(figures[who].id)}
    assert all(m["distance"] < 0.45 for m in entry.detail["matches"])


def test_the_six_private_people_are_not_public_figures(figures):
    verdict = image_screen(SIX_PEOPLE.read_bytes(), purpose="avatar")
    assert (verdict.blocked, verdict.faces) == (False, 6)
    nearest = faces_nearest(
        [f.descriptor for f in faces_find([np.asarray(image(SIX_PEOPLE))], min_face=0.08)]
    )
    assert len(nearest) == 6
    assert min(hit.distance for hit in nearest) > 0.6


@pytest.mark.parametrize("box", SIX_BOXES, ids=[f"person{i}" for i in range(6)])
def test_each_private_person_is_a_real_person_in_a_start_image_and_fine_as_an_avatar(
    figures, auth_client, box
):
    left, top, right, bottom = box
    pad = (right - left) // 2
    portrait = image(SIX_PEOPLE).crop((left - pad, top - pad, right + pad, bottom + pad))
    member = auth_client(UserFactory())
    start = member.post(
        "/api/v1/generations", {**PROMPT, "start_image": upload(encoded(portrait))}, format="multipart"
    )
    assert (start.status_code, start.json()["error"]["code"]) == (400, "likeness_real_person")
    avatar = member.put(
        "/api/v1/me/avatar", {"avatar": upload(encoded(portrait), "me.png")}, format="multipart"
    )
    assert avatar.status_code == 200, avatar.json()


@pytest.mark.parametrize("who", ["hanks", "collins"])
def test_a_public_figure_is_refused_as_an_avatar(figures, auth_client, who):
    picture = transformed(image(TOM_HANKS if who == "hanks" else ASTRONAUT), "jpeg_q30")
    response = auth_client(UserFactory()).put(
        "/api/v1/me/avatar", {"avatar": upload(encoded(picture), "me.png")}, format="multipart"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "likeness_public_figure")
    assert AuditEntry.objects.filter(action="screen.avatar", reason_code="likeness_public_figure").exists()


def test_a_start_image_without_faces_passes(figures, auth_client):
    landscape = Image.new("RGB", (320, 200), (40, 120, 60))
    response = auth_client(UserFactory()).post(
        "/api/v1/generations", {**PROMPT, "start_image": upload(encoded(landscape))}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    assert AuditEntry.objects.get(action="screen.start_image").reason == "passed"


def test_the_mission_patch_is_a_false_face_that_matches_nothing(figures):
    mirrored = transformed(image(ASTRONAUT), "mirrored")
    faces = faces_find([np.asarray(mirrored)], min_face=0.08)
    patch_box = (512 - MISSION_PATCH[2], MISSION_PATCH[1], 512 - MISSION_PATCH[0], MISSION_PATCH[3])
    patch = [face for face in faces if overlap(face.box, patch_box) > 0.5]
    assert len(patch) == 1, [face.box for face in faces]  # the detector does take it for a face
    (hit,) = faces_nearest([patch[0].descriptor])
    assert not hit.matches
    assert hit.distance > 0.7
    verdict = image_screen(encoded(mirrored), purpose="avatar")
    assert verdict.blocked
    assert verdict.faces == 2
    assert [match.figure_id for match in verdict.matches] == [
        figures["collins"].id
    ]  # her face, not the patch


@pytest.mark.parametrize(
    ("status", "estate_block", "active", "blocks"),
    [
        pytest.param("living", False, True, True, id="living"),
        pytest.param("deceased", False, True, False, id="deceased-no-estate-block"),
        pytest.param("deceased", True, True, True, id="deceased-estate-block"),
        pytest.param("living", False, False, False, id="inactive"),
    ],
)
def test_only_figures_that_block_are_matched(figures, status, estate_block, active, blocks):
    PublicFigure.objects.filter(id=figures["hanks"].id).update(
        status=status, estate_block=estate_block, active=active
    )
    verdict = image_screen(TOM_HANKS.read_bytes(), purpose="avatar")
    assert verdict.blocked is blocks
    assert figures["hanks"].blocks is True  # the row in memory; the database decides above


def test_with_the_face_model_unloadable_start_images_and_avatars_fail_closed(
    figures, auth_client, faces_unloadable
):
    with pytest.raises(ScreeningUnavailable):
        image_screen(TOM_HANKS.read_bytes(), purpose="avatar")
    member = auth_client(UserFactory())
    blank = encoded(Image.new("RGB", (64, 64), (10, 10, 10)))
    start = member.post("/api/v1/generations", {**PROMPT, "start_image": upload(blank)}, format="multipart")
    assert (start.status_code, start.json()["error"]["code"]) == (503, "moderation_unavailable")
    avatar = member.put("/api/v1/me/avatar", {"avatar": upload(blank, "me.png")}, format="multipart")
    assert (avatar.status_code, avatar.json()["error"]["code"]) == (503, "moderation_unavailable")
    assert AuditEntry.objects.filter(reason_code="moderation_unavailable").count() >= 2


def test_healthz_reports_moderation(client, settings, tmp_path):
    body = client.get("/healthz").json()
    assert body["checks"]["moderation"]["ok"] is True
    settings.MODERATION_FACE_MODEL_DIR = str(tmp_path / "nowhere")
    body = client.get("/healthz").json()
    assert body["checks"]["moderation"]["ok"] is False
    assert body["checks"]["moderation"]["error"] == "face_model_unavailable"
    assert body["status"] != "ok"
