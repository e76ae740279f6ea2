"""The built-in model behind the engine adapter and the HTTP API."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from generation.builtin.train import RunConfig, train
from generation.engines.base import GenerationCancelled, GenerationRequest
from generation.engines.builtin_engine import BuiltinEngine, BuiltinSettings
from mediakit import Clip

CONFIGS = Path(__file__).resolve().parents[2] / "generation" / "builtin" / "configs"
TINY_CONFIG = CONFIGS / "tiny.json"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A tiny model trained for a few steps by the real training loop."""
    out = tmp_path_factory.mktemp("tiny-run")
    train(RunConfig.load(TINY_CONFIG), out, quiet=True)
    return out


@pytest.fixture(scope="module")
def engine(tiny_run):
    return BuiltinEngine(BuiltinSettings(path=tiny_run, steps=3, device="cpu"))


def test_engine_makes_an_upscaled_square_clip_with_sound(engine):
    steps = []
    request = GenerationRequest(
        prompt="a blue box moving left", width=64, height=113, num_frames=33, fps=8.0, seed=1
    )
    assert engine.fit(64, 113, 33) == (64, 64, 33)
    clip = engine.generate(
        replace(request, width=64, height=64, num_frames=8), lambda done, total: steps.append(done)
    )
    assert isinstance(clip, Clip)
    assert clip.frames.shape == (8, 64, 64, 3)
    assert clip.audio is not None
    assert clip.audio.shape == (1, 16000)
    assert clip.sample_rate == 16000
    assert steps == [1, 2, 3]
    assert engine.makes_audio
    assert not engine.supports_start_image
    assert engine.name.startswith("builtin/")
    assert len(engine.version) == 12


def test_cancel_from_the_callback_stops_the_render(engine):
    calls = []

    def on_step(done, total):
        calls.append(done)
        raise GenerationCancelled

    request = GenerationRequest(prompt="a ball", width=16, height=16, num_frames=8, fps=8.0, seed=1)
    with pytest.raises(GenerationCancelled):
        engine.generate(request, on_step)
    assert calls == [1]


@pytest.mark.django_db
def test_prompt_to_draft_with_the_shipped_model(auth_client, run_on_commit, settings, fresh_engine):
    import io

    import av

    from feed.models import Video
    from tests.factories import UserFactory

    settings.GENERATION_ENGINE = "builtin"
    settings.GENERATION_MODEL_PATH = ""
    settings.GENERATION_STEPS = 8
    settings.GENERATION_SHORT_SIDE = {"draft": 128, "standard": 256, "high": 384}
    client = auth_client(UserFactory())

    created = run_on_commit(
        client.post,
        "/api/v1/generations",
        {"prompt": "a red ball bouncing on a blue floor", "duration_s": 4},
        format="json",
    )

    job = client.get(f"/api/v1/generations/{created.json()['id']}").json()
    assert job["state"] == "succeeded", job
    assert job["engine"]["name"] == "builtin/weights"
    video = Video.objects.get(id=job["video_id"])
    with video.video.open("rb") as handle:
        container = av.open(io.BytesIO(handle.read()))
    streams = {stream.type: stream for stream in container.streams}
    assert streams["video"].codec_context.name == "h264"
    assert streams["audio"].codec_context.name == "aac"
    assert (streams["video"].codec_context.width, streams["video"].codec_context.height) == (256, 256)
    assert video.has_audio
    assert float(container.duration / av.time_base) == pytest.approx(33 / 8, abs=0.2)  # 4 s, not 2
