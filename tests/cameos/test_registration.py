"""Cameo registration through the API: the challenge, the upload, the checks a worker runs (eager
here), the cameo made, and every refusal with its code.

The selfie videos are SYNTHESISED from a still of tests/fixtures/faces/t1.jpg (tests/cameos/selfie.py):
a fake head turn for the happy path, the plain and the moved still for the refusals. The digits are
spoken by espeak-ng; without it (or sox) these tests skip.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image, ImageDraw

from cameos.models import Cameo, CameoReference, Registration
from moderation.models import Report
from tests.cameos import selfie
from tests.cameos.factories import CameoFactory, CharacterCameoFactory
from tests.factories import BlockFactory, InviteFactory, UserFactory, signup_payload
from tests.moderation.likeness import ASTRONAUT, ASTRONAUT_FACE, TOM_HANKS, register_figures

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(selfie.tools_missing() is not None, reason=selfie.tools_missing() or ""),
]

PHRASE = "4 7 2 9 1"  # read by espeak-ng's en-us+f3, pocketsphinx hears it exactly (measured)
OTHER_DIGITS = "8 3 6 0 5"
URL = "/api/v1/cameos/registrations"


@pytest.fixture(scope="module")
def videos() -> dict[str, bytes]:
    """Every selfie the tests upload, built once (a few seconds each)."""
    me = selfie.person()
    hanks = Image.open(TOM_HANKS).convert("RGB")
    return {
        "happy": selfie.selfie(me, digits=PHRASE),
        "still": selfie.selfie(me, digits=PHRASE, motion="still"),
        "translated": selfie.selfie(me, digits=PHRASE, motion="translate"),
        "wrong_digits": selfie.selfie(me, digits=OTHER_DIGITS),
        "disguised": selfie.selfie(selfie.disguised(me), digits=PHRASE),
        "hanks": selfie.selfie(selfie.framed(hanks, (0, 0, hanks.width, hanks.height), margin=0.6)),
        "astronaut": selfie.selfie(selfie.framed(Image.open(ASTRONAUT), ASTRONAUT_FACE)),
    }


def _start(client: Any, **body: Any) -> dict[str, Any]:
    response = client.post(URL, {"kind": "person", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _challenge(
    registration_id: str, turns: tuple[str, ...] = ("left", "right"), phrase: str = PHRASE
) -> None:
    """The challenge is random; the tests' videos answer this one."""
    Registration.objects.filter(id=registration_id).update(head_turns=list(turns), phrase=phrase)


def _upload(client: Any, registration_id: str, capture: Any, **files: Any) -> Any:
    body = {
        name: ([io.BytesIO(d) for d in data] if isinstance(data, list) else _named(io.BytesIO(data), name))
        for name, data in files.items()
    }
    with capture(execute=True):
        return client.post(f"{URL}/{registration_id}/upload", body, format="multipart")


def _named(handle: io.BytesIO, name: str) -> io.BytesIO:
    handle.name = f"{name}.bin"
    return handle


def _registered(client: Any, capture: Any, video: bytes, turns: tuple[str, ...] = ("left", "right")) -> dict:
    started = _start(client)
    _challenge(started["id"], turns)
    response = _upload(client, started["id"], capture, video=video)
    assert response.status_code == 202, response.json()
    assert response.json()["state"] == "queued"
    return client.get(f"{URL}/{started['id']}").json()


def test_challenge_is_random_turns_and_digits(auth_client):
    client = auth_client(UserFactory())
    seen = set()
    for _ in range(8):
        challenge = _start(client)["challenge"]
        assert sorted(challenge["head_turns"]) == ["left", "right"]
        digits = challenge["phrase"].split()
        assert 4 <= len(digits) <= 6
        assert all(d.isdigit() and len(d) == 1 for d in digits)
        seen.add(challenge["phrase"])
        Registration.objects.all().delete()
    assert len(seen) > 1


def test_happy_path_makes_a_cameo_and_deletes_the_upload(
    auth_client, django_capture_on_commit_callbacks, videos
):
    # given a member who films the challenge (synthesised turn, espeak-ng reading the digits)
    member = UserFactory(username="alice")
    client = auth_client(member)
    # when they upload it
    result = _registered(client, django_capture_on_commit_callbacks, videos["happy"])
    # then the cameo is made, only for them, with a face, a voice and reference crops
    assert result["state"] == "succeeded", result
    assert result["progress"] == 100
    assert result["error"] is None
    cameo = Cameo.objects.get(id=result["cameo_id"])
    assert (cameo.owner_id, cameo.kind, cameo.handle, cameo.level) == (
        member.id,
        "person",
        "alice",
        "only_me",
    )
    assert cameo.face_embedding is not None
    assert cameo.voice_embedding is not None
    references = CameoReference.objects.filter(cameo=cameo)
    assert 3 <= references.count() <= 4
    with references[0].image.open("rb") as handle:
        assert Image.open(handle).format == "WEBP"
    # and the raw upload is gone (retention 0 days)
    registration = Registration.objects.get(id=result["id"])
    assert not registration.upload
    assert not default_storage.exists(f"cameos/registrations/{registration.id}/video")
    assert set(registration.timings) >= {"faces", "liveness", "phrase", "total"}


def test_progress_is_told_on_the_websocket(auth_client, django_capture_on_commit_callbacks, videos, listen):
    member = UserFactory()
    heard = listen(member.id)
    result = _registered(auth_client(member), django_capture_on_commit_callbacks, videos["happy"])
    events = [e for e in heard() if e["type"] == "cameo.registration"]
    assert events[0]["data"]["state"] == "queued"
    stages = [e["data"]["stage"] for e in events if e["data"]["state"] == "processing"]
    assert {"faces", "liveness", "phrase", "voice"} <= set(stages)
    progress = [e["data"]["progress"] for e in events]
    assert progress == sorted(progress)
    assert events[-1]["data"] == {**events[-1]["data"], "state": "succeeded", "cameo_id": result["cameo_id"]}


def test_the_other_order_is_asked_and_followed(auth_client, django_capture_on_commit_callbacks, videos):
    client = auth_client(UserFactory())
    video = selfie.selfie(selfie.person(), digits=PHRASE, turns=("right", "left"))
    result = _registered(client, django_capture_on_commit_callbacks, video, turns=("right", "left"))
    assert result["state"] == "succeeded", result


@pytest.mark.parametrize(
    ("video", "turns"),
    [
        ("still", ("left", "right")),
        ("translated", ("left", "right")),
        ("happy", ("right", "left")),  # turned left then right: the wrong order
    ],
    ids=["plain_still", "translated_still", "wrong_order"],
)
def test_liveness_refuses(auth_client, django_capture_on_commit_callbacks, videos, video, turns):
    client = auth_client(UserFactory())
    result = _registered(client, django_capture_on_commit_callbacks, videos[video], turns=turns)
    assert result["state"] == "failed"
    assert result["error"]["code"] == "liveness_failed", result
    assert not Cameo.objects.exists()


def test_wrong_digits_are_refused(auth_client, django_capture_on_commit_callbacks, videos):
    client = auth_client(UserFactory())
    result = _registered(client, django_capture_on_commit_callbacks, videos["wrong_digits"])
    assert result["error"]["code"] == "phrase_mismatch", result


def test_no_speech_is_refused(auth_client, django_capture_on_commit_callbacks):
    client = auth_client(UserFactory())
    result = _registered(client, django_capture_on_commit_callbacks, selfie.selfie(digits=None))
    assert result["error"]["code"] == "no_speech", result


def test_a_separate_voice_sample_reads_the_digits(auth_client, django_capture_on_commit_callbacks):
    client = auth_client(UserFactory())
    started = _start(client)
    _challenge(started["id"])
    silent = selfie.selfie(digits=None)
    voice = selfie.wav_bytes(np.concatenate([np.zeros(8000, np.float32), selfie.spoken(PHRASE)]))
    response = _upload(client, started["id"], django_capture_on_commit_callbacks, video=silent, voice=voice)
    assert response.status_code == 202, response.json()
    assert client.get(f"{URL}/{started['id']}").json()["state"] == "succeeded"


def test_no_face_is_refused(auth_client, django_capture_on_commit_callbacks):
    client = auth_client(UserFactory())
    blank = selfie.video([selfie.frames(selfie.person())[0] * 0 + 120] * 60, audio=selfie.spoken(PHRASE))
    result = _registered(client, django_capture_on_commit_callbacks, blank)
    assert result["error"]["code"] == "no_face", result


def test_two_people_are_refused(auth_client, django_capture_on_commit_callbacks):
    me = selfie.frames(selfie.person(), motion="still")
    friend = selfie.frames(selfie.person(2), motion="still")
    side_by_side = [np.concatenate([a, b], axis=1) for a, b in zip(me, friend, strict=True)]
    video = selfie.video(side_by_side, audio=selfie.spoken(PHRASE))
    result = _registered(auth_client(UserFactory()), django_capture_on_commit_callbacks, video)
    assert result["error"]["code"] == "several_faces", result


def test_a_face_that_changes_is_refused(auth_client, django_capture_on_commit_callbacks):
    me = selfie.frames(selfie.person(), motion="still")
    someone_else = selfie.frames(selfie.person(2), motion="still")
    half = len(me) // 2
    video = selfie.video(me[:half] + someone_else[half:], audio=selfie.spoken(PHRASE))
    result = _registered(auth_client(UserFactory()), django_capture_on_commit_callbacks, video)
    assert result["error"]["code"] == "face_changed", result


def test_the_same_face_disguised_by_another_account_is_refused_and_can_be_reviewed(
    auth_client, django_capture_on_commit_callbacks, videos
):
    # given alice's cameo
    alice = auth_client(UserFactory(username="alice"))
    first = _registered(alice, django_capture_on_commit_callbacks, videos["happy"])
    assert first["state"] == "succeeded", first
    # when bob uploads her face mirrored, cropped and recompressed
    bob_member = UserFactory(username="bob")
    bob = auth_client(bob_member)
    result = _registered(bob, django_capture_on_commit_callbacks, videos["disguised"])
    # then it is refused as already registered, naming her cameo
    assert result["error"]["code"] == "likeness_already_registered", result
    assert result["conflict_cameo_id"] == first["cameo_id"]
    assert Cameo.objects.count() == 1
    # and bob may ask the moderators to review: an impersonation report on her cameo
    response = bob.post(f"{URL}/{result['id']}/review")
    assert response.status_code == 200, response.json()
    report = Report.objects.get(id=response.json()["report_id"])
    assert (report.subject_kind, str(report.subject_id), report.reporter_id, report.reason) == (
        "cameo",
        first["cameo_id"],
        bob_member.id,
        "impersonation",
    )
    assert response.json()["registration"]["review_requested"] is True
    # alice's own successful registration has nothing to review
    refused = alice.post(f"{URL}/{first['id']}/review")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "review_not_applicable"


@pytest.mark.parametrize("figure", ["hanks", "astronaut"])
def test_public_figures_are_refused(auth_client, django_capture_on_commit_callbacks, videos, figure):
    register_figures()
    client = auth_client(UserFactory())
    result = _registered(client, django_capture_on_commit_callbacks, videos[figure])
    assert result["error"]["code"] == "public_figure_blocked", result


def test_a_second_person_cameo_is_refused_at_the_start(auth_client):
    member = UserFactory()
    CameoFactory(owner=member, kind="person", handle=member.username)
    response = auth_client(member).post(URL, {"kind": "person"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "cameo_exists"


def test_an_expired_challenge_takes_no_upload(auth_client, django_capture_on_commit_callbacks, videos):
    client = auth_client(UserFactory())
    started = _start(client)
    Registration.objects.filter(id=started["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(f"{URL}/{started['id']}").json()["state"] == "expired"
    response = _upload(client, started["id"], django_capture_on_commit_callbacks, video=videos["happy"])
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "challenge_expired"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda: _png(), 400, "upload_invalid"),
        (lambda: b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, 400, "upload_invalid"),
        (
            lambda: selfie.video(selfie.frames(selfie.person(), seconds=2.0, size=(160, 120))),
            400,
            "duration_out_of_range",
        ),
        (
            lambda: selfie.video(selfie.frames(selfie.person(), seconds=16.0, fps=4, size=(96, 64)), fps=4),
            400,
            "duration_out_of_range",
        ),
    ],
    ids=["an_image", "a_broken_mp4", "too_short", "too_long"],
)
def test_bad_uploads_are_refused(auth_client, django_capture_on_commit_callbacks, make, status, code):
    client = auth_client(UserFactory())
    started = _start(client)
    response = _upload(client, started["id"], django_capture_on_commit_callbacks, video=make())
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert client.get(f"{URL}/{started['id']}").json()["state"] == "challenged"  # try again


def test_a_too_large_upload_is_refused(auth_client, django_capture_on_commit_callbacks, settings, videos):
    settings.CAMEO_UPLOAD_MAX_BYTES = 10_000
    client = auth_client(UserFactory())
    started = _start(client)
    response = _upload(client, started["id"], django_capture_on_commit_callbacks, video=videos["happy"])
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"


def test_registrations_are_their_owners_alone(auth_client):
    owner, other = auth_client(UserFactory()), auth_client(UserFactory())
    started = _start(owner)
    assert other.get(f"{URL}/{started['id']}").status_code == 404
    assert other.post(f"{URL}/{started['id']}/review").status_code == 404
    assert other.get(URL).json()["results"] == []
    assert [r["id"] for r in owner.get(URL).json()["results"]] == [started["id"]]


# --- characters ------------------------------------------------------------------------------------


def _drawing(colour: tuple[int, int, int]) -> bytes:
    """A drawn mascot: a rounded body, two triangle ears, a tail; no human face."""
    picture = Image.new("RGB", (400, 300), (250, 245, 230))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((120, 90, 300, 250), fill=colour, outline=(0, 0, 0), width=4)
    draw.polygon([(140, 110), (160, 40), (190, 100)], fill=colour, outline=(0, 0, 0))
    draw.polygon([(230, 100), (260, 40), (280, 110)], fill=colour, outline=(0, 0, 0))
    draw.line((300, 200, 370, 150), fill=(0, 0, 0), width=8)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def test_a_character_from_drawings(auth_client, django_capture_on_commit_callbacks):
    client = auth_client(UserFactory())
    started = _start(
        client,
        kind="character",
        handle="Mr.Whiskers",
        display_name="Mr Whiskers",
        personality="A grumpy cat who loves jazz.",
    )
    assert started["challenge"]["phrase"] == ""
    assert started["handle"] == "mr.whiskers"
    response = _upload(
        client,
        started["id"],
        django_capture_on_commit_callbacks,
        photos=[_drawing((240, 150, 40)), _drawing((90, 90, 90))],
    )
    assert response.status_code == 202, response.json()
    result = client.get(f"{URL}/{started['id']}").json()
    assert result["state"] == "succeeded", result
    cameo = Cameo.objects.get(id=result["cameo_id"])
    assert (cameo.kind, cameo.handle, cameo.display_name) == ("character", "mr.whiskers", "Mr Whiskers")
    assert cameo.personality == "A grumpy cat who loves jazz."
    assert cameo.face_embedding is None
    assert CameoReference.objects.filter(cameo=cameo).count() == 2


def test_a_character_from_a_short_clip(auth_client, django_capture_on_commit_callbacks):
    client = auth_client(UserFactory())
    started = _start(client, kind="character", handle="bouncy")
    mascot = np.asarray(Image.open(io.BytesIO(_drawing((60, 160, 220)))).convert("RGB"))
    shots = [np.roll(mascot, 6 * i, axis=1)[:240, :320] for i in range(45)]  # it wanders across
    response = _upload(client, started["id"], django_capture_on_commit_callbacks, video=selfie.video(shots))
    assert response.status_code == 202, response.json()
    result = client.get(f"{URL}/{started['id']}").json()
    assert result["state"] == "succeeded", result
    assert CameoReference.objects.filter(cameo_id=result["cameo_id"]).count() == 3


def test_a_character_with_a_human_face_is_refused(auth_client, django_capture_on_commit_callbacks):
    client = auth_client(UserFactory())
    started = _start(client, kind="character", handle="notaperson")
    face = io.BytesIO()
    selfie.person().save(face, format="JPEG")
    response = _upload(
        client,
        started["id"],
        django_capture_on_commit_callbacks,
        photos=[_drawing((200, 60, 60)), face.getvalue()],
    )
    assert response.status_code == 202
    result = client.get(f"{URL}/{started['id']}").json()
    assert result["error"]["code"] == "human_face_in_character", result
    assert not Cameo.objects.exists()


def test_a_character_handle_must_be_free(auth_client):
    UserFactory(username="bob")
    me = UserFactory()
    client = auth_client(me)
    response = client.post(URL, {"kind": "character", "handle": "bob"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "handle_taken"
    blocked = UserFactory(username="shy")  # a name stays taken for those its holder blocked
    BlockFactory(blocker=blocked, blocked=me)
    response = client.post(URL, {"kind": "character", "handle": "shy"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "handle_taken")
    response = client.post(URL, {"kind": "character", "handle": "no spaces!"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "handle_invalid"


def test_a_username_may_not_be_a_characters_handle(api):
    # Given a character cameo @robo
    CharacterCameoFactory(handle="robo")
    # When a newcomer signs up as "Robo", Then the name is refused (prompts name both by @handle)
    response = api.post(
        "/api/v1/auth/signup", signup_payload(InviteFactory().display_code, username="Robo"), format="json"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (409, "handle_taken")
