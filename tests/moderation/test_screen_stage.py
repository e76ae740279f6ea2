"""The screening stage of the generation pipeline: a clip whose frames show a public figure ends
blocked with no draft; with the face model unloadable a finished render yields no draft and the job
says moderation_unavailable; a clip without faces passes. Plus clip_screen and the sampling it uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from feed.models import Video
from generation import engines, services
from generation.models import DailyUsage, Job
from generation.pipeline import STAGES, job_execute
from mediakit import Clip
from mediakit.encode import clip_encode
from mediakit.sampling import audio_mono_16k, clip_from_file, frames_at
from moderation.models import AuditEntry
from moderation.public import ScreeningUnavailable, clip_screen
from tests.factories import UserFactory
from tests.generation.fakes import FakeEngine
from tests.moderation.likeness import ASTRONAUT, TOM_HANKS, face_clip, image, register_figures

pytestmark = pytest.mark.django_db


@dataclass
class FaceEngine(FakeEngine):
    """The fake engine, rendering a grey stage where `face` appears half way through."""

    face: str = "hanks"

    def fit(self, width, height, num_frames):
        """Renders at 256 px on the short side at least (a draft's 32 px could show nobody's face)."""
        scale = max(1, 256 // min(width, height))
        return width * scale // 2 * 2, height * scale // 2 * 2, num_frames

    def generate(self, request, on_step):
        super().generate(request, on_step)  # the steps, as every engine reports them
        picture = image(TOM_HANKS if self.face == "hanks" else ASTRONAUT) if self.face else None
        seconds = request.num_frames / request.fps
        return face_clip(picture, seconds=seconds, fps=request.fps, size=(request.width, request.height))


@pytest.fixture
def figures():
    return register_figures()


@pytest.fixture
def engine(settings):
    settings.GENERATION_STAGE_BACKOFF_S = 0
    installed = FaceEngine()
    engines.engine_install(installed)
    yield installed
    engines.engine_install(None)


@pytest.fixture
def queued_job(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        result = services.generation_enqueue(
            user_id=UserFactory().id,
            ask=services.ClipAsk(
                prompt="a person waves at the camera", duration_s=4, aspect="square", quality="draft"
            ),
        )
    return Job.objects.get(id=result.job.id)


def test_screen_looks_at_the_rendered_clip_before_it_is_marked_and_drafted():
    names = [stage.__name__ for stage in STAGES]
    assert names.index("render") < names.index("screen") < names.index("mark") < names.index("draft")


@pytest.mark.parametrize("face", ["hanks", "collins"])
def test_a_clip_showing_a_public_figure_ends_blocked_without_a_draft(figures, engine, queued_job, face):
    engine.face = face

    outcome = job_execute(job_id=queued_job.id, worker="w1@host")

    job = Job.objects.get(id=queued_job.id)
    assert (outcome.state, job.state, job.stage, job.error_code) == (
        "blocked",
        "blocked",
        "screen",
        "likeness_public_figure",
    )
    assert "Hanks" not in job.error_message
    assert "Collins" not in job.error_message
    assert not Video.objects.exists()
    assert DailyUsage.objects.get(user_id=job.user_id).seconds == 0  # a blocked job gives its unit back
    entry = AuditEntry.objects.get(action="screen.clip", subject_kind="job", subject_id=str(job.id))
    assert entry.actor_id is None
    assert entry.reason_code == "likeness_public_figure"
    faces = [m for m in entry.detail["matches"] if m["kind"] == "face"]
    assert faces
    assert {m["figure_id"] for m in faces} == {str(figures[face].id)}
    first = min(faces, key=lambda m: m["frame"])
    assert first["time_s"] >= 2.0  # the face appears half way through the 4 s clip
    assert all(len(m["box"]) == 4 and m["distance"] < 0.55 for m in faces)


def test_a_clip_without_faces_passes_the_screen_and_is_drafted(figures, engine, queued_job):
    engine.face = ""

    assert job_execute(job_id=queued_job.id).state == "succeeded"

    job = Job.objects.get(id=queued_job.id)
    assert Video.objects.filter(id=job.video_id).exists()
    entry = AuditEntry.objects.get(action="screen.clip", subject_id=str(job.id))
    assert (entry.reason, entry.reason_code, entry.detail["faces"]) == ("passed", "", 0)
    assert entry.detail["frames"] == 9  # 33 frames at 8 fps (4.1 s) sampled at 2 fps
    screen_s = next(t["seconds"] for t in job.timings if t["stage"] == "screen")
    assert screen_s < 5


def test_with_the_face_model_unloadable_a_finished_render_yields_no_draft(
    engine, queued_job, settings, tmp_path
):
    settings.MODERATION_FACE_MODEL_DIR = str(tmp_path / "no-models")
    settings.GENERATION_STAGE_TRIES = 3
    engine.face = ""  # not even a clip without faces gets through unscreened

    outcome = job_execute(job_id=queued_job.id)

    job = Job.objects.get(id=queued_job.id)
    assert (outcome.state, job.state, job.stage, job.error_code) == (
        "failed",
        "failed",
        "screen",
        "moderation_unavailable",
    )
    assert not Video.objects.exists()
    assert len(engine.renders) == 1  # the render finished; screening was retried in place
    tries = AuditEntry.objects.filter(action="screen.clip", reason_code="moderation_unavailable")
    assert tries.count() == 3


def test_clip_screen_reports_which_face_in_which_frame(figures):
    clip = face_clip(image(TOM_HANKS), seconds=3.0, fps=10.0, size=(480, 360))

    verdict = clip_screen(clip)

    assert verdict.blocked
    assert verdict.error is not None
    assert verdict.error.code == "likeness_public_figure"
    assert verdict.frames == 6
    frames = sorted({m.frame for m in verdict.matches if m.kind == "face"})
    assert frames == [15, 20, 25]  # the face is in frames 15 to 29, sampled every 5th
    assert {m.figure_id for m in verdict.matches} == {figures["hanks"].id}


def test_a_figure_whose_own_cameo_is_allowed_does_not_block(figures):
    from uuid import uuid4

    cameo_id = uuid4()
    figures["hanks"].allowed_cameo_id = cameo_id
    figures["hanks"].save(update_fields=["allowed_cameo_id"])
    clip = face_clip(image(TOM_HANKS))
    assert clip_screen(clip).blocked
    assert not clip_screen(clip, allowed_cameo_ids=frozenset({cameo_id})).blocked


def test_clip_screen_fails_closed_past_its_time_limit(figures, settings):
    settings.MODERATION_SCREEN_TIMEOUT_S = 0.0
    with pytest.raises(ScreeningUnavailable, match="ran out of time"):
        clip_screen(face_clip(image(TOM_HANKS)))


def test_frames_are_sampled_at_2_fps_and_sound_becomes_16k_mono():
    frames = np.zeros((24, 8, 8, 3), dtype=np.uint8)
    stereo = np.stack([np.ones(48_000), -np.ones(48_000) * 0.5]).astype(np.float32)
    clip = Clip(frames=frames, fps=8.0, audio=stereo, sample_rate=48_000)

    assert [(f.index, f.time_s) for f in frames_at(clip, 2.0)] == [
        (0, 0.0),
        (4, 0.5),
        (8, 1.0),
        (12, 1.5),
        (16, 2.0),
        (20, 2.5),
    ]
    mono = audio_mono_16k(clip)
    assert mono is not None
    assert mono.dtype == np.float32
    assert mono.shape == (16_000,)
    assert abs(float(mono[8000]) - 0.25) < 1e-3
    assert audio_mono_16k(Clip(frames=frames, fps=8.0)) is None


def test_an_uploaded_video_is_read_back_as_frames_at_2_fps_and_16k_sound(figures):
    encoded = clip_encode(face_clip(image(TOM_HANKS), seconds=3.0, fps=8.0, size=(320, 240)))

    clip = clip_from_file(encoded.mp4)

    assert clip.fps == 2.0
    assert clip.sample_rate == 16_000
    assert clip.frames.shape[0] == 6
    assert clip.audio is not None
    assert abs(clip.audio.shape[1] - 48_000) < 2_000
    assert clip_screen(clip).blocked  # the face survives H.264


def test_a_still_face_is_described_once_unless_its_verdict_is_close(figures, settings):
    from moderation.likeness import screen
    from moderation.likeness.faces import faces_find

    frames = [frame.image for frame in frames_at(face_clip(image(TOM_HANKS), seconds=3.0), 2.0)][3:]
    faces = faces_find(frames, min_face=settings.MODERATION_CLIP_MIN_FACE, grey=True)
    assert len(faces) == 3
    assert [face.shared for face in faces] == [False, True, True]
    assert len({face.described for face in faces}) == 1  # one descriptor for the face that stays still

    far = screen._face_hits(faces, frozenset())[0]
    assert [face.shared for face in far] == [False, True, True]  # far from the line: kept shared
    settings.MODERATION_FACE_MATCH_DISTANCE = screen._face_hits(faces, frozenset())[1][0].distance
    near, hits = screen._face_hits(faces, frozenset())
    assert [face.shared for face in near] == [False, False, False]
    assert len({face.described for face in near}) == 3  # each described alone
    assert all(hit.matches for hit in hits)
