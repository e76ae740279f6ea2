"""The worker: a job runs through an ordered list of named stages.

    claim → recheck → load_engine → render → encode → screen → draft

Each stage is a small function in its own module (`stages/`), `def name(ctx) -> StageResult`
(`context.py` says what a stage may answer); `stages.STAGES` is the list. A later issue adds
a stage by writing one function and adding it there; nothing else in the worker changes.
The job records the stage it is in and the seconds each took (`Job.stage`, `Job.timings`),
and clients hear `generation.stage` as each begins.
"""

from generation.pipeline.context import Stage, StageResult
from generation.pipeline.runner import ExecuteOutcome, job_execute
from generation.pipeline.stages import STAGES

__all__ = ["STAGES", "ExecuteOutcome", "Stage", "StageResult", "job_execute"]
