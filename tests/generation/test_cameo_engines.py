"""Cameos in the engines and in output screening.

The built-in engine (the shipped weights, not retrained) pastes a cameo's face crop, a real face
from tests/fixtures/faces/t1.jpg, on the clip's main object at the output resolution: moderation's
screening finds that face again in the encoded clip at every quality. A job that consented to the
cameo passes screening; a clip showing the cameo's face in a job that did not cast it is blocked
(`likeness_unconsented_cameo`). The diffusers VACE engine receives the references as
`reference_images` and the cast's notes in its prompt.
"""

from __future__ import annotations

import io
from functools import cache

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from PIL import Image

from generation import engines
from generation.builtin.cameo import object_track
from generation.builtin.pipeline import WEIGHTS_DIR
from generation.engines.base import GenerationRequest
from generation.engines.builtin_engine import BuiltinEngine, BuiltinSettings
from generation.models import Job
from generation.pipeline import job_execute
from mediakit import Clip
from mediakit.encode import clip_encode
from moderation.public import clip_from_file, clip_screen, faces_find
from tests.cameos.factories import CameoFactory, CameoReferenceFactory
from tests.factories import JobFactory, UserFactory
from tests.generation.fakes import FakeEngine
from tests.moderation.likeness import SIX_BOXES, SIX_PEOPLE

PERSON = 3  # t1.jpg's fourth person, who looks at the camera (tests/cameos/selfie.py registers her too)


@cache
def face_crop_of_t1(person: int = PERSON) -> np.ndarray:
    """uint8 [256, 256, 3]: a registration's reference crop (moderation's face_crop: the face box
    widened by 0.6 on each side) of one of t1.jpg's real faces."""
    photo = Image.open(SIX_PEOPLE).convert("RGB")
    left, top, right, bottom = SIX_BOXES[person]
    side = max(right - left, bottom - top) * 2.2
    cx, cy = (left + right) / 2, (top + bottom) / 2
    box = (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
    return np.asarray(photo.crop(box).resize((256, 256), Image.Resampling.LANCZOS))


def face_descriptor(image: np.ndarray) -> np.ndarray:
    [face] = faces_find([image], min_face=django_settings.MODERATION_IMAGE_MIN_FACE)
    return face.descriptor


def webp_of(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="WEBP", quality=95)
    return buffer.getvalue()


def registered_cameo(**fields):
    """A cameo of t1.jpg's face: its embedding and its reference crop, as registration stores them."""
    crop = face_crop_of_t1()
    cameo = CameoFactory(face_embedding=face_descriptor(crop).tolist(), **fields)
    CameoReferenceFactory(cameo=cameo, image=ContentFile(webp_of(crop), name="ref.webp"), position=0)
    return cameo


@pytest.fixture(scope="module")
def builtin():
    return BuiltinEngine(BuiltinSettings(path=WEIGHTS_DIR, device="cpu"))


BUILTIN_SIZES = {"draft": 128, "standard": 256, "high": 384}  # config.settings' for GENERATION_ENGINE=builtin


@pytest.fixture
def builtin_installed(builtin, settings):
    settings.GENERATION_STAGE_BACKOFF_S = 0
    settings.GENERATION_SHORT_SIDE = BUILTIN_SIZES
    engines.engine_install(builtin)
    yield builtin
    engines.engine_install(None)


def rendered(engine, quality: str, aspect: tuple[int, int], references=(), seed: int = 5) -> Clip:
    short = django_settings_short(quality)
    across, down = aspect
    width, height = (short * across // down, short) if across >= down else (short, short * down // across)
    width, height, frames = engine.fit(width, height, 33)
    request = GenerationRequest(
        prompt="a red ball bouncing on a blue floor",
        width=width,
        height=height,
        num_frames=frames,
        fps=8.0,
        seed=seed,
        reference_images=tuple(references),
    )
    return engine.generate(request, lambda done, total: None)


def django_settings_short(quality: str) -> int:
    return BUILTIN_SIZES[quality]


# --- the built-in engine ---------------------------------------------------------------------


@pytest.mark.parametrize("quality", ["draft", "standard", "high"])
@pytest.mark.parametrize("aspect", [(9, 16), (16, 9)], ids=["portrait", "landscape"])
def test_the_builtin_engine_puts_the_face_where_screening_finds_it_again_at_every_quality(
    builtin, quality, aspect
):
    crop = face_crop_of_t1()
    registered = face_descriptor(crop)

    clip = rendered(builtin, quality, aspect, references=[crop])
    played = clip_from_file(clip_encode(clip).mp4, fps=django_settings.MODERATION_SCREEN_FPS)
    faces = faces_find(list(played.frames), min_face=django_settings.MODERATION_CLIP_MIN_FACE, grey=True)

    assert len(faces) == len(played.frames)  # the face in every frame screened, once each
    distances = [float(np.linalg.norm(face.descriptor - registered)) for face in faces]
    assert max(distances) < django_settings.MODERATION_FACE_MATCH_DISTANCE * 0.6, distances


def test_without_a_cameo_the_builtin_clip_is_unchanged_and_shows_no_face(builtin):
    plain = rendered(builtin, "draft", (9, 16))
    again = rendered(builtin, "draft", (9, 16))
    assert np.array_equal(plain.frames, again.frames)
    assert faces_find(list(plain.frames[::4]), min_face=django_settings.MODERATION_CLIP_MIN_FACE) == []


def test_the_face_follows_the_main_objects_track(builtin):
    crop = face_crop_of_t1()
    out = builtin.pipeline("a red ball moving right", seed=2, frames=16)
    track = object_track(out.frames)
    seen = ~np.isnan(track[:, 0])
    assert seen.sum() >= 12
    assert track[seen, 0][-1] - track[seen, 0][0] > 6  # it moves right, in the model's pixels

    request = GenerationRequest(
        prompt="a red ball moving right",
        width=256,
        height=256,
        num_frames=16,
        fps=8.0,
        seed=2,
        reference_images=(crop,),
    )
    clip = builtin.generate(request, lambda *a: None)
    faces = faces_find([clip.frames[0], clip.frames[-1]], min_face=0.15)
    first, last = sorted(faces, key=lambda f: f.image)
    assert (last.box[0] + last.box[2]) / 2 - (first.box[0] + first.box[2]) / 2 > 30  # pixels of the output


# --- the pipeline and screening: consented passes, unconsented blocks ---------------------------


@pytest.mark.django_db
def test_a_job_casting_the_cameo_renders_it_and_passes_screening(
    builtin_installed, django_capture_on_commit_callbacks
):
    cameo = registered_cameo(level="everyone")
    job = JobFactory(
        user=UserFactory(),
        prompt=f"@{cameo.handle} bouncing",
        cameo_ids=[cameo.id],
        cameo_handles=[cameo.handle],
        quality="draft",
        aspect="portrait",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert job_execute(job_id=job.id).state == "succeeded", Job.objects.get(id=job.id).error_message
    job.refresh_from_db()
    from feed.models import Video

    video = Video.objects.get(id=job.video_id)
    with video.video.open("rb") as handle:
        played = clip_from_file(handle.read(), fps=2.0)
    faces = faces_find(list(played.frames), min_face=django_settings.MODERATION_CLIP_MIN_FACE, grey=True)
    assert faces  # the delivered draft shows the cameo, as consented


class LeakyEngine(FakeEngine):
    """An engine that draws a registered person's face whatever the job cast (what a model trained on
    someone's photos might do): screening must catch it."""

    def generate(self, request, on_step):
        clip = super().generate(request, on_step)
        frames = clip.frames.copy()
        side = min(request.width, request.height) * 3 // 4
        face = np.asarray(Image.fromarray(face_crop_of_t1()).resize((side, side)))
        frames[:, :side, :side] = face
        return Clip(frames=frames, fps=clip.fps, audio=clip.audio, sample_rate=clip.sample_rate)


@pytest.mark.django_db
def test_a_clip_showing_a_cameo_the_job_did_not_cast_is_blocked(settings, django_capture_on_commit_callbacks):
    settings.GENERATION_STAGE_BACKOFF_S = 0
    settings.GENERATION_SHORT_SIDE = BUILTIN_SIZES  # frames large enough to hold a face
    cameo = registered_cameo(level="everyone")
    other = CameoFactory(level="everyone")
    engines.engine_install(LeakyEngine())
    try:
        uncast = JobFactory(quality="standard", aspect="square")
        cast_someone_else = JobFactory(
            prompt=f"@{other.handle} waving",
            cameo_ids=[other.id],
            cameo_handles=[other.handle],
            quality="standard",
            aspect="square",
        )
        cast_her = JobFactory(
            prompt=f"@{cameo.handle} waving",
            cameo_ids=[cameo.id],
            cameo_handles=[cameo.handle],
            quality="standard",
            aspect="square",
        )
        with django_capture_on_commit_callbacks(execute=True):
            outcomes = [job_execute(job_id=job.id).state for job in (uncast, cast_someone_else, cast_her)]
    finally:
        engines.engine_install(None)

    assert outcomes == ["blocked", "blocked", "succeeded"]
    for job in (uncast, cast_someone_else):
        job.refresh_from_db()
        assert (job.error_code, job.stage, job.video_id) == ("likeness_unconsented_cameo", "screen", None)


@pytest.mark.django_db
def test_screening_names_the_unconsented_cameo_for_moderators_only():
    cameo = registered_cameo(level="only_me")
    crop = face_crop_of_t1()
    frames = np.stack([np.asarray(Image.fromarray(crop).resize((256, 256)))] * 4)
    clip = Clip(frames=frames, fps=2.0)

    blocked = clip_screen(clip, subject_kind="job", subject_id="x")
    allowed = clip_screen(clip, allowed_cameo_ids=frozenset({cameo.id}), subject_kind="job", subject_id="x")

    assert (blocked.blocked, blocked.error.code) == (True, "likeness_unconsented_cameo")
    assert {match.cameo_id for match in blocked.matches} == {cameo.id}
    assert "cameo" not in blocked.error.message.lower().replace("a registered cameo", "")  # no name, no id
    assert (allowed.blocked, allowed.error, allowed.faces) == (False, None, 4)


@pytest.mark.django_db
def test_a_deleted_cameos_face_no_longer_blocks():
    cameo = registered_cameo(level="everyone")
    Cameo = type(cameo)
    Cameo.objects.filter(id=cameo.id).update(state="deleted")
    frames = np.stack([face_crop_of_t1()] * 2)
    assert not clip_screen(Clip(frames=frames, fps=2.0)).blocked


# --- the diffusers VACE engine ---------------------------------------------------------------


@pytest.fixture(scope="module")
def wan_vace(tmp_path_factory):
    from generation.engines.diffusers_engine import DiffusersEngine, DiffusersSettings
    from generation.engines.tiny import tiny_pipeline_save

    path = tiny_pipeline_save("wan-vace", tmp_path_factory.mktemp("wan-vace"))
    return DiffusersEngine(DiffusersSettings(path=path, steps=2, max_sequence_length=16, device="cpu"))


class Recording:
    """The engine's pipeline, with each call's arguments kept."""

    def __init__(self, pipe):
        self.pipe, self.calls = pipe, []

    def __getattr__(self, name):
        return getattr(self.pipe, name)

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return self.pipe(**kwargs)


@pytest.mark.django_db
def test_vace_receives_the_cameos_reference_images_and_notes_through_the_pipeline(
    wan_vace, settings, django_capture_on_commit_callbacks
):
    settings.GENERATION_STAGE_BACKOFF_S = 0
    cameo = CameoFactory(level="everyone", preferences="always wearing a red cap")
    CameoReferenceFactory(cameo=cameo, image=ContentFile(webp_of(face_crop_of_t1()), name="ref.webp"))
    job = JobFactory(
        prompt=f"@{cameo.handle} on a beach",
        cameo_ids=[cameo.id],
        cameo_handles=[cameo.handle],
        quality="draft",
        aspect="square",
        duration_s=4,
    )
    recording = Recording(wan_vace.pipe)
    wan_vace.pipe = recording
    engines.engine_install(wan_vace)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job_execute(job_id=job.id, stages=_until_render())
    finally:
        engines.engine_install(None)
        wan_vace.pipe = recording.pipe

    [call] = recording.calls
    [reference] = call["reference_images"]
    assert isinstance(reference, Image.Image)
    assert reference.size == (256, 256)
    assert (
        np.abs(np.asarray(reference, np.int16) - face_crop_of_t1().astype(np.int16)).mean() < 6
    )  # WebP-stored
    assert call["prompt"].startswith(f"@{cameo.handle} on a beach")  # the member's words first
    assert call["prompt"].count("always wearing a red cap") == 1  # the enhancer merged the notes, once


def _until_render():
    from generation.pipeline import STAGES

    names = [stage.__name__ for stage in STAGES]
    return STAGES[: names.index("render") + 1]
