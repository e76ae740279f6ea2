"""Shared by the built-in model's tests: a tiny model trained by the real loop, and its pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from generation.builtin.pipeline import WEIGHTS_DIR, KinoPipeline
from generation.builtin.train import CONFIGS_DIR, RunConfig, train


@pytest.fixture(scope="session")
def tiny_config() -> RunConfig:
    return RunConfig.load(CONFIGS_DIR / "tiny.json")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_config: RunConfig) -> Path:
    """A tiny model trained for a few steps by the real training loop (read it; copy it to change it)."""
    out = tmp_path_factory.mktemp("tiny-run")
    train(tiny_config, out, quiet=True)
    return out


@pytest.fixture(scope="session")
def tiny_pipeline(tiny_run: Path) -> KinoPipeline:
    return KinoPipeline.from_pretrained(tiny_run)


@pytest.fixture(scope="session")
def shipped_pipeline() -> KinoPipeline:
    """The committed checkpoint, on the CPU."""
    return KinoPipeline.from_pretrained(WEIGHTS_DIR)
