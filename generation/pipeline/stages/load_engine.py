"""load_engine: this worker's model, loaded once per process (the first job waits for it)."""

from __future__ import annotations

from config.celery import worker_engine_note
from generation import errors
from generation.engines import engine_get, out_of_memory_errors
from generation.models import Job
from generation.pipeline.context import PASSED, JobContext, StageResult, requeue


def load_engine(ctx: JobContext) -> StageResult:
    if ctx.claimed.kind == Job.Kind.STITCH:  # joins drafts: no model runs
        return PASSED
    try:
        ctx.engine = engine_get()
    except out_of_memory_errors() as exc:  # another process holds the GPU: try again later
        return requeue(errors.OUT_OF_MEMORY, str(exc))
    ctx.advance(engine_name=ctx.engine.name[:200], engine_version=ctx.engine.version)
    worker_engine_note(ctx.worker, name=ctx.engine.name, version=ctx.engine.version)  # for /healthz
    return PASSED
