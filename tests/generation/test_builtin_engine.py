"""The built-in model behind the engine adapter and the HTTP API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


def test_engine_makes_a_clip_with_sound_in_the_asked_size(engine):
    steps = []
    request = GenerationRequest(
        prompt="a blue box moving left", width=64, height=114, num_frames=8, fps=8.0, seed=1
    )
    clip = engine.generate(request, lambda done, total: steps.append(done))
    assert isinstance(clip, Clip)
    assert clip.frames.shape == (8, 114, 64, 3)
    assert clip.audio is not None
    assert clip.audio.shape == (1, 16000)
    assert clip.sample_rate == 16000
    assert steps == [1, 2, 3]
    assert engine.makes_audio
    assert not engine.supports_start_image
    assert engine.name.startswith("builtin/")
    assert len(engine.version) == 12


@pytest.mark.parametrize(
    ("asked", "fitted"),
    [
        pytest.param((256, 455, 33), (256, 456, 33), id="portrait"),
        pytest.param((455, 256, 33), (456, 256, 33), id="landscape"),
        pytest.param((256, 256, 17), (256, 256, 17), id="square"),
        pytest.param((128, 227, 33), (128, 228, 33), id="portrait-draft"),
        pytest.param((682, 384, 33), (682, 384, 33), id="landscape-high"),
        pytest.param((64, 113, 9), (64, 114, 9), id="short-side-a-multiple"),
        pytest.param((70, 120, 9), (64, 110, 9), id="short-side-rounded"),
        pytest.param((5, 9, 9), (16, 28, 9), id="at-least-native"),
    ],
)
def test_fit_keeps_the_asked_aspect(engine, asked, fitted):
    assert engine.pipeline.config.size == 16  # the tiny model's native side
    assert engine.fit(*asked) == fitted


def test_cancel_from_the_callback_stops_the_render(engine):
    calls = []

    def on_step(done, total):
        calls.append(done)
        raise GenerationCancelled

    request = GenerationRequest(prompt="a ball", width=16, height=16, num_frames=8, fps=8.0, seed=1)
    with pytest.raises(GenerationCancelled):
        engine.generate(request, on_step)
    assert calls == [1]


@pytest.fixture(scope="module")
def shipped_engine():
    """The shipped model, loaded once from settings as a worker loads it (8 steps, to be quick)."""
    from django.test import override_settings

    from generation import engines

    with override_settings(GENERATION_ENGINE="builtin", GENERATION_MODEL_PATH="", GENERATION_STEPS=8):
        return engines.engine_load()


@pytest.fixture
def builtin_worker(settings, shipped_engine):
    """This process renders with the shipped model, as a worker configured for it would."""
    from generation import engines

    settings.GENERATION_ENGINE = "builtin"
    settings.GENERATION_MODEL_PATH = ""
    settings.GENERATION_STEPS = 8
    settings.GENERATION_FPS = 8.0
    settings.GENERATION_SHORT_SIDE = {"draft": 128, "standard": 256, "high": 384}
    engines.engine_install(shipped_engine)
    yield shipped_engine
    engines.engine_install(None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("aspect", "size"),
    [
        pytest.param(None, (256, 456), id="portrait-by-default"),
        pytest.param("landscape", (456, 256), id="landscape"),
        pytest.param("square", (256, 256), id="square"),
    ],
)
def test_prompt_to_draft_in_the_asked_aspect_with_the_shipped_model(
    auth_client, run_on_commit, builtin_worker, aspect, size
):
    import io

    import av

    from feed.models import Video
    from tests.factories import UserFactory

    client = auth_client(UserFactory())
    ask = {"prompt": "a red ball bouncing on a blue floor", "duration_s": 4, "quality": "standard", "seed": 7}

    created = run_on_commit(
        client.post, "/api/v1/generations", {**ask, **({"aspect": aspect} if aspect else {})}, format="json"
    )

    assert created.status_code == 201, created.json()
    assert (created.json()["width"], created.json()["height"]) == (0, 0)  # not rendered yet
    job = client.get(f"/api/v1/generations/{created.json()['id']}").json()
    assert job["state"] == "succeeded", job
    assert job["aspect"] == (aspect or "portrait")
    assert job["engine"]["name"] == "builtin/weights"
    video = Video.objects.get(id=job["video_id"])
    with video.video.open("rb") as handle:
        container = av.open(io.BytesIO(handle.read()))
    streams = {stream.type: stream for stream in container.streams}
    assert streams["video"].codec_context.name == "h264"
    assert streams["audio"].codec_context.name == "aac"
    mp4 = (streams["video"].codec_context.width, streams["video"].codec_context.height)
    assert mp4 == size  # 9:16, 16:9 or 1:1, to the even pixel
    assert (job["width"], job["height"]) == mp4
    assert (video.width, video.height) == mp4
    assert mp4[0] / mp4[1] == pytest.approx(
        {"portrait": 9 / 16, "landscape": 16 / 9, "square": 1}[job["aspect"]], rel=0.01
    )
    frame = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    across = frame if size[1] >= size[0] else frame.transpose(1, 0, 2)  # the long side down
    margin = (across.shape[0] - across.shape[1]) // 2
    for outer, inner in [
        (slice(0, 8), slice(margin, margin + 8)),
        (slice(-8, None), slice(-margin - 8, -margin or None)),
    ]:
        # The scene goes on past the model's square: the frame's ends are the colours of the
        # square's own edges (sky, floor), not bars.
        assert np.abs(across[outer].mean((0, 1)) - across[inner].mean((0, 1))).max() < 20
    assert video.has_audio
    assert float(container.duration / av.time_base) == pytest.approx(33 / 8, abs=0.2)  # 4 s, not 2
