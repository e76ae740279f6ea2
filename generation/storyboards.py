"""Asking for clips made of several: a storyboard (shots rendered one after another and joined) and a
stitch (drafts joined as they are). Both are jobs like any other: the same quota (seconds of video),
the same consent checks, the same worker pipeline (`generation.pipeline`), one draft at the end."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings

from accounts.public import member_standing
from cameos.public import ConsentDecision
from config.errors import KinoError
from feed.public import videos_media_for_owner
from generation import errors
from generation.models import Job
from generation.services import (
    EnqueueResult,
    cameo_handles_of,
    carried_handles,
    consent_checked,
    duration_check,
    job_enqueue,
    job_new,
    prompt_check,
    tier_of,
)


@dataclass(frozen=True)
class Shot:
    prompt: str
    duration_s: int
    cameo_handles: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoryboardAsk:
    shots: tuple[Shot, ...]
    aspect: str
    quality: str
    seed: int | None = None
    enhance: bool = True

    @property
    def prompt(self) -> str:
        return "\n".join(shot.prompt.strip() for shot in self.shots)

    @property
    def duration_s(self) -> int:
        return sum(shot.duration_s for shot in self.shots)


def storyboard_enqueue(*, user_id: UUID, ask: StoryboardAsk, idempotency_key: str = "") -> EnqueueResult:
    """Every shot checked as a clip of its own would be (prompt policy, length, its cast's consent),
    the whole as long as one clip of the member's tier may be; then one job for all of them."""
    standing = member_standing(user_id=user_id)
    teen = standing is not None and standing.is_teen
    tier = tier_of(standing)
    for index, shot in enumerate(ask.shots):
        prompt_check(shot.prompt, teen=teen, field=f"shots[{index}].prompt")
        duration_check(shot.duration_s, tier=tier, field=f"shots[{index}].duration_s")
    longest = settings.GENERATION_TIERS[tier]["max_duration"]
    if ask.duration_s > longest:
        message = f"The shots add up to {ask.duration_s} seconds; your clips can be at most {longest}."
        raise KinoError(errors.STORYBOARD_TOO_LONG, message, field="shots")
    shots = [
        {
            "prompt": shot.prompt.strip(),
            "duration_s": shot.duration_s,
            "cameos": list(cameo_handles_of(shot.prompt, shot.cameo_handles)),
        }
        for shot in ask.shots
    ]
    decisions = _shots_consented(user_id, shots, teen=teen)
    casts = [d.cast for d in decisions if d.cast is not None]
    job = job_new(
        user_id,
        tier,
        ask,
        kind=Job.Kind.STORYBOARD,
        casts=casts,
        idempotency_key=idempotency_key,
        shots=shots,
    )
    return job_enqueue(job, decisions=decisions)


def _shots_consented(
    user_id: UUID, shots: list[dict[str, Any]], *, teen: bool
) -> tuple[ConsentDecision, ...]:
    """Each shot's cast consented against that shot's own prompt (a refusal names the shot's
    `cameos`); one decision per cameo."""
    decided: dict[str, ConsentDecision] = {}
    for index, shot in enumerate(shots):
        field = f"shots[{index}].cameos"
        for decision in consent_checked(
            user_id, tuple(shot["cameos"]), shot["prompt"], teen=teen, field=field
        ):
            decided.setdefault(decision.handle.lower(), decision)
    return tuple(decided.values())


@dataclass(frozen=True)
class StitchAsk:
    video_ids: tuple[UUID, ...]  # the member's drafts (or posts), in the order they play


def stitch_enqueue(*, user_id: UUID, ask: StitchAsk, idempotency_key: str = "") -> EnqueueResult:
    """A job that joins the member's own videos: charged their length, like a clip that long. The
    parts' cast is the stitch's cast: consent is asked again now (and by the worker), so a likeness
    whose consent was withdrawn cannot come back in a stitch, and its owner sees the stitched draft."""
    standing = member_standing(user_id=user_id)
    teen = standing is not None and standing.is_teen
    tier = tier_of(standing)
    parts = videos_media_for_owner(owner_id=user_id, video_ids=list(ask.video_ids), field="drafts")
    seconds = math.ceil(sum(part.duration_ms for part in parts) / 1000)
    longest = settings.GENERATION_TIERS[tier]["max_duration"]
    if seconds > longest:
        message = f"The videos add up to {seconds} seconds; your clips can be at most {longest}."
        raise KinoError(errors.STITCH_TOO_LONG, message, field="drafts")
    prompt = " / ".join(part.prompt for part in parts)[: settings.GENERATION_PROMPT_MAX_CHARS]
    handles = carried_handles(list(ask.video_ids), field="drafts")
    decisions = consent_checked(user_id, handles, prompt, teen=teen, field="drafts")
    casts = [d.cast for d in decisions if d.cast is not None]
    first = parts[0]
    job = Job(
        user_id=user_id,
        kind=Job.Kind.STITCH,
        prompt=prompt,
        cameo_ids=[cast.cameo_id for cast in casts],
        cameo_handles=[cast.handle for cast in casts],
        duration_s=seconds,
        aspect=_aspect(first.width, first.height),
        quality=Job.Quality.STANDARD,
        seed=0,
        enhance=False,
        parts=list(ask.video_ids),
        tier=tier,
        priority=tier == "priority",
        idempotency_key=idempotency_key,
    )
    return job_enqueue(job, decisions=decisions)


def _aspect(width: int, height: int) -> str:
    if width > height:
        return Job.Aspect.LANDSCAPE
    return Job.Aspect.PORTRAIT if height > width else Job.Aspect.SQUARE
