"""The engine registry: settings pick one; each worker process loads it once, on first use.

Loading happens in the process that renders (a Celery pool child), never in a parent that
forks: CUDA state does not survive a fork.
"""

from __future__ import annotations

import threading
from pathlib import Path

import fasteners
from django.conf import settings

from generation.engines.base import (
    Engine,
    GenerationCancelled,
    GenerationRequest,
    StepCallback,
    out_of_memory_errors,
)
from generation.engines.families import TINY_CLASSES

__all__ = [
    "Engine",
    "GenerationCancelled",
    "GenerationRequest",
    "StepCallback",
    "engine_get",
    "engine_install",
    "engine_load",
    "out_of_memory_errors",
]

_engine: Engine | None = None
_lock = threading.Lock()


def _model_path() -> Path:
    if settings.GENERATION_ENGINE == "diffusers":
        return Path(settings.GENERATION_MODEL_PATH)
    kind = settings.GENERATION_ENGINE.removeprefix("tiny-")
    if kind not in TINY_CLASSES:
        raise ValueError(f"Unknown GENERATION_ENGINE {settings.GENERATION_ENGINE!r}")
    folder = Path(settings.VAR_DIR) / "models" / f"tiny-{kind}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with fasteners.InterProcessLock(str(folder) + ".lock"):
        if not (folder / "model_index.json").exists():
            from generation.engines.tiny import tiny_pipeline_save

            tiny_pipeline_save(kind, folder)
    return folder


def engine_load() -> Engine:
    if settings.GENERATION_ENGINE == "builtin":
        from generation.builtin.pipeline import WEIGHTS_DIR
        from generation.engines.builtin_engine import BuiltinEngine, BuiltinSettings

        return BuiltinEngine(
            BuiltinSettings(
                path=Path(settings.GENERATION_MODEL_PATH or WEIGHTS_DIR),
                device=settings.GENERATION_DEVICE,
                steps=settings.GENERATION_STEPS,
                guidance=settings.GENERATION_GUIDANCE,
            )
        )
    from generation.engines.diffusers_engine import DiffusersEngine, DiffusersSettings  # imports torch

    return DiffusersEngine(
        DiffusersSettings(
            path=_model_path(),
            device=settings.GENERATION_DEVICE,
            dtype=settings.GENERATION_DTYPE,
            cpu_offload=settings.GENERATION_CPU_OFFLOAD,
            vae_tiling=settings.GENERATION_VAE_TILING,
            steps=settings.GENERATION_STEPS,
            guidance=settings.GENERATION_GUIDANCE,
            max_sequence_length=settings.GENERATION_MAX_SEQUENCE_LENGTH,
        )
    )


def engine_get() -> Engine:
    """This process's engine, loaded from settings on first use."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = engine_load()
        return _engine


def engine_install(engine: Engine | None) -> None:
    """Make `engine` this process's engine (None: load from settings again on next use).
    Tests and benchmarks inject engines this way; so could a worker warming up."""
    global _engine
    with _lock:
        _engine = engine
