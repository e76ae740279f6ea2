"""The stages of a job, one module each, every one `def name(ctx: JobContext) -> StageResult`.

`STAGES` is the pipeline, in order. `screen` (moderation's likeness screening, fails closed) runs
between `encode` and `draft`; marking and fingerprints (provenance) join there with their issue.
"""

from generation.pipeline.context import Stage
from generation.pipeline.stages.claim import claim
from generation.pipeline.stages.draft import draft
from generation.pipeline.stages.encode import encode
from generation.pipeline.stages.load_engine import load_engine
from generation.pipeline.stages.recheck import recheck
from generation.pipeline.stages.render import render
from generation.pipeline.stages.screen import screen

STAGES: tuple[Stage, ...] = (claim, recheck, load_engine, render, encode, screen, draft)

__all__ = ["STAGES", "claim", "draft", "encode", "load_engine", "recheck", "render", "screen"]
