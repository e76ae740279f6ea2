"""Generation settings fail loudly at boot, with a message that says what to fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks

ROOT = Path(__file__).resolve().parents[2]


def kino_errors() -> list[str]:
    return [
        f"{m.id}: {m.msg} {m.hint or ''}" for m in checks.run_checks(tags=["kino"]) if m.level >= checks.ERROR
    ]


def boot(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", **env}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_manage_py_check_refuses_a_misspelt_engine_by_name():
    result = boot(["manage.py", "check"], GENERATION_ENGINE="buitin")
    assert result.returncode != 0
    assert "GENERATION_ENGINE 'buitin' is not an engine" in result.stderr
    assert "Did you mean 'builtin'?" in result.stderr


def test_the_web_server_refuses_to_start_with_a_misspelt_engine():
    result = boot(["-c", "import config.asgi"], GENERATION_ENGINE="difusers")
    assert result.returncode != 0
    assert "GENERATION_ENGINE 'difusers' is not an engine" in result.stderr


def test_the_configured_engine_passes():
    assert kino_errors() == []


@pytest.mark.parametrize(
    ("engine", "folder", "expected"),
    [
        pytest.param("diffusers", None, "needs GENERATION_MODEL_PATH", id="diffusers-without-a-folder"),
        pytest.param(
            "diffusers", "missing", "not a diffusers pipeline folder", id="diffusers-folder-missing"
        ),
        pytest.param(
            "diffusers", "StableDiffusionPipeline", "holds a StableDiffusionPipeline", id="unsupported-class"
        ),
        pytest.param("builtin", "missing", "not a built-in model folder", id="builtin-folder-missing"),
    ],
)
def test_a_model_folder_that_cannot_work_is_refused(settings, tmp_path, engine, folder, expected):
    settings.GENERATION_ENGINE = engine
    settings.GENERATION_MODEL_PATH = ""
    if folder == "missing":
        settings.GENERATION_MODEL_PATH = str(tmp_path / "nowhere")
    elif folder:
        (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": folder}))
        settings.GENERATION_MODEL_PATH = str(tmp_path)
    problems = kino_errors()
    assert len(problems) == 1
    assert expected in problems[0]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"standard": {"daily_seconds": 0, "active": 2, "max_duration": 8}},
            "['daily_seconds'] must be",
            id="daily-0",
        ),
        pytest.param(
            {"teen": {"daily_seconds": 5, "active": "2", "max_duration": 8}},
            "['active'] must be",
            id="active-text",
        ),
        pytest.param(
            {"priority": {"daily_seconds": 5, "active": 2, "max_duration": 9}},
            "max_duration",
            id="odd-length",
        ),
        pytest.param(
            {"vip": {"daily_seconds": 5, "active": 2, "max_duration": 8}},
            "exactly the tiers",
            id="unknown-tier",
        ),
    ],
)
def test_bad_tier_numbers_are_refused(settings, change, expected):
    settings.GENERATION_TIERS = {**settings.GENERATION_TIERS, **change}
    problems = kino_errors()
    assert problems
    assert expected in problems[0]


def test_other_limits_are_checked(settings):
    settings.GENERATION_STEPS = 0
    settings.GENERATION_SHORT_SIDE = {"draft": 8, "standard": 256, "high": 384}
    settings.GENERATION_STALE_S = 1.0
    settings.GENERATION_FPS = 0
    settings.GENERATION_STAGE_BACKOFF_S = -1
    settings.GENERATION_START_IMAGE_MAX_BYTES = settings.API_MAX_UPLOAD_BYTES
    settings.GENERATION_DEVICE, settings.GENERATION_DTYPE = "gpu", "fp8"
    problems = " ".join(kino_errors())
    assert "GENERATION_STEPS must be 1 or more" in problems
    assert "GENERATION_SHORT_SIDE['draft']" in problems
    assert "GENERATION_STALE_S must exceed" in problems
    assert "GENERATION_FPS must be above 0" in problems
    assert "GENERATION_STAGE_BACKOFF_S must be 0 or more" in problems
    assert "GENERATION_START_IMAGE_MAX_BYTES must be below API_MAX_UPLOAD_BYTES" in problems
    assert "GENERATION_DEVICE 'gpu'" in problems
    assert "GENERATION_DTYPE 'fp8'" in problems


@pytest.mark.django_db
def test_healthz_names_the_configured_engine(client, settings):
    assert client.get("/healthz").json()["engine"] == {"configured": settings.GENERATION_ENGINE, "loaded": []}
