"""A job's cast: what consent says of it now (asked by the worker before rendering and under lock
before the draft), and the cast in words for the engines that read text (the request side's preview
and the worker's render both use it)."""

from __future__ import annotations

from cameos.public import CameoCast, ConsentDecision, consent_decide
from generation.models import Job


def job_consent(job: Job, *, teen: bool, lock: bool = False) -> tuple[ConsentDecision, ...]:
    """One decision per cameo the job casts, as consent stands now. A storyboard's shots are asked one
    by one, each cast against its own shot's prompt (a cameo refused in any shot is refused); other
    jobs their whole cast against their prompt. `lock` as consent_decide's."""
    if job.kind != Job.Kind.STORYBOARD:
        return consent_decide(
            user_id=job.user_id, handles=job.cameo_handles, prompt=job.prompt, teen=teen, lock=lock
        )
    decided: dict[str, ConsentDecision] = {}
    for shot in job.shots:
        for decision in consent_decide(
            user_id=job.user_id, handles=shot.get("cameos", []), prompt=shot["prompt"], teen=teen, lock=lock
        ):
            key = decision.handle.lower()
            if key not in decided or not decision.allowed:
                decided[key] = decision
    return tuple(decided.values())


def cast_notes(casts: tuple[CameoCast, ...]) -> str:
    """The cast in words: "@robo (Robo): a cheerful cardboard robot. @alice (Alice): always wearing a
    red cap." (a character's personality, then any cameo's preferences)."""
    notes = []
    for cast in casts:
        asks = "; ".join(
            text.strip().rstrip(".") for text in (cast.personality, cast.preferences) if text.strip()
        )
        name = f"@{cast.handle} ({cast.display_name})" if cast.display_name else f"@{cast.handle}"
        notes.append(f"{name}: {asks}." if asks else f"{name}.")
    return " ".join(notes)
