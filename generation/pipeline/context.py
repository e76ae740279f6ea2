"""What a stage gets (the job's context) and what it gives back (a result).

A stage is `def name(ctx: JobContext) -> StageResult`. It reads what earlier stages left
in the context, adds its own part, and says how the job goes on:

- `PASSED`: on to the next stage;
- `SUCCEEDED`: the job is done (only the last stage, `draft`, says this: it makes the draft and
  marks the job succeeded in one transaction, so nothing can come between them);
- `block(code)`: policy says no; the job ends `blocked` with the code, the unit comes back;
- `transient(code)`: try this stage again in place, with backoff (nothing before it is redone);
  after GENERATION_STAGE_TRIES the job ends `failed` with the code;
- `fail(code)`: the job ends `failed` with the code, the unit comes back;
- `requeue(code)`: this attempt gives up and the job goes back to the queue for another
  (a GPU out of memory); after GENERATION_MAX_ATTEMPTS it ends `failed`;
- `CANCEL`: its owner cancelled it; `step_aside()`: this attempt no longer owns the job.

Deep inside a stage (an engine's step callback), raising `Interrupted(result)` ends the
stage with that result. A stage that raises anything else fails the job (`internal_error`):
nothing after it runs, so no clip reaches a draft unless every stage passed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.utils import timezone

from cameos.public import CameoCast
from config.errors import ErrorCode, error_code_get
from generation import errors
from generation.engines import Engine, GenerationCancelled
from generation.jobs import job_event_send
from generation.models import Job
from generation.pipeline.heartbeat import Heartbeat
from mediakit import Clip, EncodedClip
from provenance.public import ClipPrints, Creation

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    PASSED = "passed"
    SUCCEEDED = "succeeded"
    BLOCK = "block"
    TRANSIENT = "transient"
    FAIL = "fail"
    REQUEUE = "requeue"
    CANCEL = "cancel"
    STEP_ASIDE = "step_aside"


@dataclass(frozen=True)
class StageResult:
    outcome: Outcome
    error: ErrorCode | None = None
    detail: str = ""  # what the job's error message says; the code's own message when empty
    retry_in_s: float | None = None  # step_aside: look at the job again after this long


PASSED = StageResult(Outcome.PASSED)
SUCCEEDED = StageResult(Outcome.SUCCEEDED)
CANCEL = StageResult(Outcome.CANCEL)


def block(error: ErrorCode, detail: str = "") -> StageResult:
    return StageResult(Outcome.BLOCK, error, detail)


def transient(error: ErrorCode, detail: str = "") -> StageResult:
    return StageResult(Outcome.TRANSIENT, error, detail)


def fail(error: ErrorCode, detail: str = "") -> StageResult:
    return StageResult(Outcome.FAIL, error, detail)


def requeue(error: ErrorCode, detail: str = "") -> StageResult:
    return StageResult(Outcome.REQUEUE, error, detail)


def step_aside(retry_in_s: float | None = None) -> StageResult:
    return StageResult(Outcome.STEP_ASIDE, retry_in_s=retry_in_s)


def stop_error(code: str) -> ErrorCode:
    """The code a lower app stopped a job with (every app's codes are declared in every process,
    see GenerationConfig.ready); an undeclared one still blocks the job, as a generic stop."""
    try:
        return error_code_get(code)
    except KeyError:
        logger.error("generation.stop_code_undeclared", extra={"code": code})
        return errors.WORK_STOPPED


class Interrupted(GenerationCancelled):
    """Ends the current stage with `result`; engines let it through their step callbacks."""

    def __init__(self, result: StageResult) -> None:
        super().__init__(result.outcome)
        self.result = result


@dataclass
class JobContext:
    """One attempt at one job, as it moves through the stages."""

    job_id: UUID
    worker: str = ""
    job: Job | None = None  # the row, once claimed (kept in step with what this attempt wrote)
    engine: Engine | None = None
    casts: tuple[CameoCast, ...] = ()  # the job's cameos, as `recheck` found them consented
    clip: Clip | None = None  # the rendered clip; after `mark`, its frames as delivered (marked)
    handle: str = ""  # the creator's @handle, as `mark` burned it in
    creation: Creation | None = None  # what `encode` signs into the MP4 (C2PA)
    # An edit's signed sources, as its manifest names them: an extension's source (parentOf, read by
    # `render`), a stitch's parts (componentOf, read by `assemble`).
    parts: tuple[bytes, ...] = ()
    encoded: EncodedClip | None = None
    prints: ClipPrints | None = None  # what `draft` stores for the public lookup
    timings: list[dict[str, Any]] = field(default_factory=list)  # [{"stage", "seconds"}], in order
    stage: str = ""  # the stage running now, and since when (time.monotonic)
    stage_started: float = 0.0
    heartbeat: Heartbeat | None = None

    @property
    def claimed(self) -> Job:
        assert self.job is not None, "a stage that needs the job runs after `claim`"
        return self.job

    @property
    def attempt(self) -> int | None:
        return self.job.attempts if self.job is not None else None

    def unhindered(self) -> QuerySet[Job]:
        """The job's row while this attempt owns it and nobody cancelled or stopped it."""
        return Job.objects.filter(
            id=self.job_id,
            attempts=self.claimed.attempts,
            state=Job.State.RUNNING,
            cancel_requested=False,
            stop_code="",
        )

    def advance(self, **fields: Any) -> None:
        """Write `fields` (and a heartbeat) to the job; Interrupted if it is no longer ours to run."""
        if not self.unhindered().update(heartbeat_at=timezone.now(), **fields):
            raise Interrupted(self.interruption())
        for name, value in fields.items():
            setattr(self.claimed, name, value)

    def interruption(self) -> StageResult:
        """Why this attempt may not go on: superseded (or finished), stopped from outside, or cancelled."""
        row = Job.objects.filter(id=self.job_id).values("attempts", "state", "stop_code").first()
        if row is None or row["attempts"] != self.attempt or row["state"] != Job.State.RUNNING:
            return step_aside()
        if row["stop_code"]:
            return block(stop_error(row["stop_code"]))
        return CANCEL

    def timings_now(self) -> list[dict[str, Any]]:
        """The stages done, and the one running now so far."""
        running = {"stage": self.stage, "seconds": round(time.monotonic() - self.stage_started, 3)}
        return [*self.timings, running]

    def send(self, event_type: str) -> None:
        job_event_send(self.claimed, event_type)

    def on_step(self, step: int, steps: int) -> None:
        """The engine's step callback: progress, heartbeat, and the place a cancel or a stop takes effect."""
        self.advance(step=step, steps=steps)
        self.send("generation.progress")

    def keep_alive(self) -> None:
        if self.heartbeat is None and self.job is not None:
            self.heartbeat = Heartbeat(self.job_id, self.claimed.attempts)
            self.heartbeat.start()

    def close(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stopped.set()


Stage = Callable[[JobContext], StageResult]
