"""The stages of a job, one module each, every one `def name(ctx: JobContext) -> StageResult`.

`STAGES` is the pipeline, in order: `enhance` turns the prompt into the engine's caption form; `render`
makes the clip (a storyboard's shots one after another; an extension from its source's end), or
`assemble` joins a stitch's drafts; `screen` (moderation's likeness screening, fails closed) looks at
the rendered frames; `mark` burns the watermark in and draws up the C2PA facts that `encode` signs;
`fingerprint` hashes the frames as delivered, and `draft` stores the prints with the draft.
"""

from generation.pipeline.context import Stage
from generation.pipeline.stages.assemble import assemble
from generation.pipeline.stages.claim import claim
from generation.pipeline.stages.draft import draft
from generation.pipeline.stages.encode import encode
from generation.pipeline.stages.enhance import enhance
from generation.pipeline.stages.fingerprint import fingerprint
from generation.pipeline.stages.load_engine import load_engine
from generation.pipeline.stages.mark import mark
from generation.pipeline.stages.recheck import recheck
from generation.pipeline.stages.render import render
from generation.pipeline.stages.screen import screen

STAGES: tuple[Stage, ...] = (
    claim,
    recheck,
    load_engine,
    enhance,
    render,
    assemble,
    screen,
    mark,
    encode,
    fingerprint,
    draft,
)

__all__ = [
    "STAGES",
    "assemble",
    "claim",
    "draft",
    "encode",
    "enhance",
    "fingerprint",
    "load_engine",
    "mark",
    "recheck",
    "render",
    "screen",
]
