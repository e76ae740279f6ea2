"""What a client hears on the WebSocket while its clip is made."""

from __future__ import annotations

import pytest

from generation.pipeline import STAGES
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STAGES_AFTER_CLAIM = [stage.__name__ for stage in STAGES][1:]  # every stage after claim, in order


def test_events_follow_the_job_from_queued_to_succeeded(
    auth_client, run_on_commit, settings, fresh_engine, listen
):
    settings.GENERATION_STEPS = 3
    user = UserFactory()
    received = listen(user.id)
    response = run_on_commit(
        auth_client(user).post,
        "/api/v1/generations",
        {"prompt": "a cat dancing", "duration_s": 4},
        format="json",
    )
    heard = received()
    events = [e for e in heard if e["type"].startswith("generation.")]
    kinds = [(e["type"], e["data"]["stage"]) for e in events if e["type"] != "generation.progress"]
    # "running" as soon as the job is claimed, before the model loads; then one event per stage
    # "enhanced" once the prompt is in the engine's caption form (the tiny LTX-2's template)
    stages = [("generation.stage", stage) for stage in STAGES_AFTER_CLAIM]
    at = stages.index(("generation.stage", "enhance")) + 1
    assert kinds == [
        ("generation.queued", None),
        ("generation.running", "claim"),
        *stages[:at],
        ("generation.enhanced", "enhance"),
        *stages[at:],
        ("generation.succeeded", "draft"),
    ]
    enhanced = next(e["data"] for e in events if e["type"] == "generation.enhanced")
    assert enhanced["enhanced_prompt"].startswith("a cat dancing")
    progress = [e["data"] for e in events if e["type"] == "generation.progress"]
    assert [p["percent"] for p in progress] == [33, 66, 100]
    assert {p["stage"] for p in progress} == {"render"}
    assert {e["data"]["id"] for e in events} == {response.json()["id"]}
    assert [t["stage"] for t in events[-1]["data"]["timings"]] == ["claim", *STAGES_AFTER_CLAIM]
    assert events[-1]["data"]["video_id"]
    assert all(set(e) == {"type", "data", "ts"} for e in heard)
    # Besides the job's own events, its owner is notified of the draft (feed's generation_finished)
    assert [e["data"]["type"] for e in heard if e not in events] == ["generation_finished"]
