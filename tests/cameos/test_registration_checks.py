"""Registration's checks at the service level: voices of two real speakers, the yaw a still keeps,
the raw uploads' retention, failing closed, and the WebSocket's progress events."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from cameos.models import Cameo, Registration
from cameos.registration import services
from cameos.registration.checks import Refused
from moderation.public import faces_posed, voice_embed
from tests.cameos import selfie
from tests.cameos.factories import CameoFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DIANE, SHEILA = "speaker90", "speaker91"


def _turn(label: str, number: int) -> np.ndarray:
    """One of a speaker's turns in sample.wav, longest first."""
    return selfie.speaker_turns(label)[number]


def test_a_voice_registered_refuses_the_same_speaker_and_lets_the_other_pass():
    # given Diane's cameo (her longest turn in the recording, 4.1 s)
    diane = CameoFactory(
        kind="person", face_embedding=None, voice_embedding=voice_embed(_turn(DIANE, 0), 16_000).tolist()
    )
    someone_else = UserFactory()
    # when another account registers Diane speaking again (another turn, 3.4 s): refused
    again = voice_embed(_turn(DIANE, 1), 16_000)
    assert services.likeness_conflict(owner_id=someone_else.id, face=None, voice=again) == diane.id
    # and Sheila, both of her long turns, passes
    for number in (0, 1):
        sheila = voice_embed(_turn(SHEILA, number), 16_000)
        assert services.likeness_conflict(owner_id=someone_else.id, face=None, voice=sheila) is None
    # and Diane herself is no conflict of her own
    assert services.likeness_conflict(owner_id=diane.owner_id, face=None, voice=again) is None


def test_a_deleted_cameo_frees_its_likeness():
    voice = voice_embed(_turn(DIANE, 0), 16_000)
    CameoFactory(
        kind="person", face_embedding=None, voice_embedding=voice.tolist(), state=Cameo.State.DELETED
    )
    assert services.likeness_conflict(owner_id=UserFactory().id, face=None, voice=voice) is None


@pytest.mark.parametrize("motion", ["still", "translate"])
def test_a_still_photo_keeps_one_yaw_however_it_moves(motion):
    frames = selfie.frames(selfie.person(), motion=motion, seconds=4.0, fps=5.0)
    yaws = [pose.yaw for pose in faces_posed(frames, min_face=0.2)]
    assert len(yaws) >= len(frames) - 1
    assert max(yaws) - min(yaws) < 0.1  # CAMEO_LIVENESS_YAW is 0.2


def test_the_synthesised_turn_moves_the_yaw_both_ways():
    frames = selfie.frames(selfie.person(), turns=("left", "right"), seconds=6.0, fps=5.0)
    yaws = [pose.yaw for pose in faces_posed(frames, min_face=0.2)]
    assert max(yaws) > 0.2
    assert min(yaws) < -0.2
    assert yaws.index(max(yaws)) < yaws.index(min(yaws))  # left first


@pytest.mark.skipif(selfie.tools_missing() is not None, reason=selfie.tools_missing() or "")
def test_landmarks_that_cannot_load_fail_closed(settings, tmp_path, django_capture_on_commit_callbacks):
    # given a face model folder without the 68-point predictor
    settings.MODERATION_FACE_MODEL_DIR = str(tmp_path)
    owner = UserFactory()
    registration = services.registration_start(owner_id=owner.id, kind="person")
    Registration.objects.filter(id=registration.id).update(head_turns=["left", "right"], phrase="4 7 2 9 1")
    upload = io.BytesIO(selfie.selfie(digits="4 7 2 9 1"))
    with django_capture_on_commit_callbacks(execute=True):
        services.registration_upload(
            owner_id=owner.id, registration_id=registration.id, upload=services.Upload(video=upload)
        )
    registration.refresh_from_db()
    # then nothing is registered on an unchecked face
    assert registration.state == "failed"
    assert registration.error_code == "moderation_unavailable"
    assert not Cameo.objects.exists()


def test_uploads_kept_for_the_retention_days_then_swept(settings):
    settings.CAMEO_UPLOAD_RETENTION_DAYS = 2
    registration = Registration.objects.create(
        owner=UserFactory(), expires_at=timezone.now(), state="failed", finished_at=timezone.now()
    )
    registration.upload.save("video", ContentFile(b"x" * 10))
    name = registration.upload.name
    assert services.registration_uploads_prune() == 0  # still within its days
    Registration.objects.filter(id=registration.id).update(finished_at=timezone.now() - timedelta(days=3))
    assert services.registration_uploads_prune() == 1
    assert not default_storage.exists(name)
    registration.refresh_from_db()
    assert not registration.upload


def test_liveness_wants_each_turn_in_order():
    from cameos.registration.checks import _turns_seen

    side = np.array([0, 0, 1, 1, 1, 0, -1, -1, 0, 1])  # a one-frame blip is no turn
    assert _turns_seen(side) == [1, -1]
    with pytest.raises(Refused):
        services.checks.liveness(services.checks.Track(poses={}, frames=0, yaws=(0.0,) * 3), ["left"])


@pytest.mark.skipif(selfie.tools_missing() is not None, reason=selfie.tools_missing() or "")
@pytest.mark.parametrize("state", ["queued", "processing"])
def test_a_registration_whose_task_was_lost_is_processed_again(state, django_capture_on_commit_callbacks):
    # given an upload whose task never ran (its message lost, or its worker died mid-way)
    owner = UserFactory()
    registration = services.registration_start(owner_id=owner.id, kind="person")
    Registration.objects.filter(id=registration.id).update(head_turns=["left", "right"], phrase="4 7 2 9 1")
    with django_capture_on_commit_callbacks(execute=False):
        services.registration_upload(
            owner_id=owner.id,
            registration_id=registration.id,
            upload=services.Upload(video=io.BytesIO(selfie.selfie(digits="4 7 2 9 1"))),
        )
    Registration.objects.filter(id=registration.id).update(state=state)
    # a recent one is left alone (its worker may be on it)
    assert services.registrations_redispatch_lost() == 0
    # when it has not moved for long enough, the sweep sends it again
    long_ago = timezone.now() - timedelta(hours=1)
    Registration.objects.filter(id=registration.id).update(updated_at=long_ago)
    assert services.registrations_redispatch_lost() == 1
    registration.refresh_from_db()
    assert registration.state == "succeeded", registration.error_code
    assert services.registrations_redispatch_lost() == 0
