"""load_engine: this worker's model, loaded once per process (the first job waits for it)."""

from __future__ import annotations

from config.celery import worker_engine_note
from generation.engines import engine_get
from generation.pipeline.context import PASSED, JobContext, StageResult


def load_engine(ctx: JobContext) -> StageResult:
    ctx.engine = engine_get()
    ctx.advance(engine_name=ctx.engine.name[:200], engine_version=ctx.engine.version)
    worker_engine_note(ctx.worker, name=ctx.engine.name, version=ctx.engine.version)  # for /healthz
    return PASSED
