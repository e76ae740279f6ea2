"""The stages of a job, one module each, every one `def name(ctx: JobContext) -> StageResult`.

`STAGES` is the pipeline, in order. Screening (moderation, fails closed) and marking and
fingerprints (provenance) join between `encode` and `draft` with their issues.
"""

from generation.pipeline.context import Stage
from generation.pipeline.stages.claim import claim
from generation.pipeline.stages.draft import draft
from generation.pipeline.stages.encode import encode
from generation.pipeline.stages.load_engine import load_engine
from generation.pipeline.stages.recheck import recheck
from generation.pipeline.stages.render import render

STAGES: tuple[Stage, ...] = (claim, recheck, load_engine, render, encode, draft)

__all__ = ["STAGES", "claim", "draft", "encode", "load_engine", "recheck", "render"]
