"""The public-figure registry in the admin: a figure with a reference photo (embedded on save) and a
voice sample; a photo with no face or several faces, or a file that is not speech, is refused in the
form with a message; every change is audited; staff need the registry's model permissions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from PIL import Image

from moderation.models import AuditEntry, FigureFace, FigureVoice, PublicFigure
from tests.factories import UserFactory
from tests.moderation.likeness import SIX_PEOPLE, TOM_HANKS, encoded

pytestmark = pytest.mark.django_db

VOICE = Path(__file__).resolve().parent.parent / "fixtures" / "voices" / "sample.wav"
ADD = reverse("admin:moderation_publicfigure_add")
PERMISSIONS = [
    f"{action}_{model}"
    for action in ("view", "add", "change", "delete")
    for model in ("publicfigure", "figureface", "figurevoice")
]


def upload(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def speech(start_s: float, end_s: float) -> bytes:
    """A stretch of one speaker of the voice fixture (its RTTM says who speaks when), as a WAV file."""
    import wave

    with wave.open(str(VOICE), "rb") as source:
        rate, width = source.getframerate(), source.getsampwidth()
        source.setpos(int(start_s * rate))
        frames = source.readframes(int((end_s - start_s) * rate))
        out = io.BytesIO()
        with wave.open(out, "wb") as target:
            target.setnchannels(source.getnchannels())
            target.setsampwidth(width)
            target.setframerate(rate)
            target.writeframes(frames)
    return out.getvalue()


def errors(response) -> list[str]:
    """The form's error messages on an admin page that did not save."""
    import re

    return re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)


def form(photo: io.BytesIO | None = None, sample: io.BytesIO | None = None, **fields) -> dict:
    data = {
        "name": "Tom Hanks",
        "aliases": "Thomas Jeffrey Hanks",
        "roles": "Forrest Gump,Woody",
        "status": "living",
        "estate_contact": "",
        "allowed_cameo_id": "",
        "active": "on",
        "faces-TOTAL_FORMS": "1",
        "faces-INITIAL_FORMS": "0",
        "faces-MIN_NUM_FORMS": "0",
        "faces-MAX_NUM_FORMS": "1000",
        "voices-TOTAL_FORMS": "1",
        "voices-INITIAL_FORMS": "0",
        "voices-MIN_NUM_FORMS": "0",
        "voices-MAX_NUM_FORMS": "1000",
        **fields,
    }
    if photo is not None:
        data["faces-0-photo"] = photo
    if sample is not None:
        data["voices-0-sample"] = sample
    return data


@pytest.fixture
def curator(client):
    """Staff with exactly the registry's model permissions."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="moderation", codename__in=PERMISSIONS)
    )
    client.force_login(user)
    return user


def test_a_figure_is_registered_with_a_photo_embedded_on_save_and_a_voice(client, curator):
    response = client.post(
        ADD,
        form(
            upload(TOM_HANKS.read_bytes(), "hanks.png"),
            upload(speech(10.57, 14.70), "diane.wav"),
        ),
    )

    assert response.status_code == 302, errors(response)
    figure = PublicFigure.objects.get()
    assert (figure.roles, figure.created_by_id) == (["Forrest Gump", "Woody"], curator.id)
    face = FigureFace.objects.get(figure=figure)
    assert len(face.embedding) == 128
    assert FigureVoice.objects.filter(figure=figure).count() == 1
    actions = set(AuditEntry.objects.filter(subject_id=str(figure.id)).values_list("action", "actor"))
    assert {
        ("registry.figure_add", curator.username),
        ("registry.face_add", curator.username),
        ("registry.voice_add", curator.username),
    } <= actions
    page = client.get(reverse("admin:moderation_publicfigure_change", args=[figure.id]))
    assert page.status_code == 200
    assert face.photo.url in page.content.decode()


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        pytest.param(lambda: SIX_PEOPLE.read_bytes(), "This photo shows 6 faces", id="several-faces"),
        pytest.param(
            lambda: encoded(Image.new("RGB", (300, 300), (90, 90, 90))), "No face was found", id="no-face"
        ),
    ],
)
def test_a_photo_without_exactly_one_face_is_refused_in_the_form(client, curator, photo, message):
    response = client.post(ADD, form(upload(photo(), "photo.png")))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PublicFigure.objects.exists()
    assert not FigureFace.objects.exists()


def test_a_file_that_is_not_speech_is_refused_in_the_form(client, curator):
    response = client.post(ADD, form(sample=upload(b"RIFF....WAVEnot really", "v.wav")))

    assert response.status_code == 200
    assert "could not be read as audio" in response.content.decode()
    assert not PublicFigure.objects.exists()


def test_a_change_and_a_removed_photo_are_audited_with_before_and_after(client, curator):
    client.post(ADD, form(upload(TOM_HANKS.read_bytes(), "hanks.png")))
    figure = PublicFigure.objects.get()
    face = FigureFace.objects.get()
    data = form(
        status="deceased",
        estate_block="on",
        **{
            "faces-INITIAL_FORMS": "1",
            "faces-0-id": str(face.id),
            "faces-0-figure": str(figure.id),
            "faces-0-DELETE": "on",
            "voices-TOTAL_FORMS": "0",
        },
    )

    response = client.post(reverse("admin:moderation_publicfigure_change", args=[figure.id]), data)

    assert response.status_code == 302, errors(response)
    change = AuditEntry.objects.get(action="registry.figure_change")
    assert (change.before["status"], change.after["status"], change.after["estate_block"]) == (
        "living",
        "deceased",
        True,
    )
    assert AuditEntry.objects.get(action="registry.face_delete").before == {"face_id": str(face.id)}
    assert not FigureFace.objects.exists()


def test_staff_without_the_registry_permissions_cannot_open_it(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(ADD).status_code == 403
    assert client.get(reverse("admin:moderation_publicfigure_changelist")).status_code == 403
