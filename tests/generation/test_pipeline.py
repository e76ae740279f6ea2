"""The worker as a pipeline of stages: what each outcome does to the job, the quota and the draft."""

from __future__ import annotations

import ast
import inspect
from datetime import timedelta

import pytest
import torch
from django.utils import timezone

from config.errors import ErrorCode
from feed.models import Video
from generation import jobs
from generation.models import DailyUsage, Job
from generation.pipeline import STAGES, job_execute
from generation.pipeline.context import PASSED, block, transient
from tests import fake_lower_app
from tests.storages import FlakyStorage

pytestmark = pytest.mark.django_db

PUBLIC_FIGURE = ErrorCode("test_public_figure_blocked", "This clip shows a public figure.")
SCREEN_DOWN = ErrorCode("test_screening_unavailable", "Screening is unavailable.", 503)


def with_stage(stage, *, before="screen"):
    """The pipeline with `stage` added before `before`, as a later issue adds its own (these tests'
    own stand-in for screening runs just before the real one)."""
    names = [s.__name__ for s in STAGES]
    at = names.index(before)
    return (*STAGES[:at], stage, *STAGES[at:])


def used_seconds(job) -> int:
    return DailyUsage.objects.get(user_id=job.user_id).seconds


def test_a_job_passes_every_stage_in_order_and_records_where_the_time_went(queued_job, fake_engine):
    outcome = job_execute(job_id=queued_job.id, worker="w1@host")

    job = Job.objects.get(id=queued_job.id)
    assert (outcome.state, job.state, job.stage, job.worker) == ("succeeded", "succeeded", "draft", "w1@host")
    assert [t["stage"] for t in job.timings] == [stage.__name__ for stage in STAGES]
    assert all(t["seconds"] >= 0 for t in job.timings)
    assert (job.engine_name, job.step, job.steps) == ("fake/engine", 3, 3)
    assert Video.objects.get(id=job.video_id).source_job_id == job.id
    assert used_seconds(job) == job.duration_s
    assert len(fake_engine.renders) == 1


def test_a_stage_that_blocks_ends_the_job_blocked_with_its_code_and_gives_the_unit_back(
    queued_job, fake_engine, listen, django_capture_on_commit_callbacks
):
    def screen(ctx):
        return block(PUBLIC_FIGURE)

    heard = listen(queued_job.user_id)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = job_execute(job_id=queued_job.id, stages=with_stage(screen))

    job = Job.objects.get(id=queued_job.id)
    assert (outcome.state, job.state, job.stage) == ("blocked", "blocked", "screen")
    assert (job.error_code, job.error_message) == (PUBLIC_FIGURE.code, PUBLIC_FIGURE.message)
    assert used_seconds(job) == 0
    assert not Video.objects.exists()
    final = heard()[-1]
    assert (final["type"], final["data"]["error_code"]) == ("generation.blocked", PUBLIC_FIGURE.code)
    assert [t["stage"] for t in final["data"]["timings"]] == [
        "claim",
        "recheck",
        "load_engine",
        "enhance",
        "render",
        "assemble",
        "screen",
    ]


def test_a_stage_that_raises_fails_the_job_closed(
    queued_job, fake_engine, django_capture_on_commit_callbacks
):
    def screen(ctx):
        raise RuntimeError("the face model is missing")

    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
        job_execute(job_id=queued_job.id, stages=with_stage(screen))

    job = Job.objects.get(id=queued_job.id)
    assert (job.state, job.error_code) == ("failed", "internal_error")
    assert "the face model is missing" in job.error_message
    assert not Video.objects.exists()
    assert used_seconds(job) == 0


def test_a_transient_failure_runs_the_stage_again_without_rendering_again(queued_job, fake_engine):
    calls = []

    def screen(ctx):
        calls.append(ctx.encoded)
        return transient(SCREEN_DOWN) if len(calls) < 3 else PASSED

    assert job_execute(job_id=queued_job.id, stages=with_stage(screen)).state == "succeeded"
    assert len(calls) == 3
    assert calls[0] is calls[2]  # the same encoded clip: nothing before the stage was redone
    assert len(fake_engine.renders) == 1


def test_a_stage_that_stays_down_fails_with_its_code_after_the_allowed_tries(
    queued_job, fake_engine, settings
):
    settings.GENERATION_STAGE_TRIES = 3
    calls = []

    def screen(ctx):
        calls.append(1)
        return transient(SCREEN_DOWN, "timed out")

    assert job_execute(job_id=queued_job.id, stages=with_stage(screen)).state == "failed"
    job = Job.objects.get(id=queued_job.id)
    assert (job.error_code, job.error_message, len(calls)) == (SCREEN_DOWN.code, "timed out", 3)
    assert not Video.objects.exists()
    assert used_seconds(job) == 0


@pytest.mark.parametrize(
    ("failures", "state"),
    [(2, "succeeded"), (9, "failed")],
    ids=["storage-hiccup-retried-in-place", "storage-down-fails-and-refunds"],
)
def test_storage_errors_retry_the_draft_in_place(queued_job, fake_engine, settings, failures, state):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.storages.FlakyStorage"}}
    FlakyStorage.failures, FlakyStorage.attempts = failures, 0

    assert job_execute(job_id=queued_job.id).state == state

    job = Job.objects.get(id=queued_job.id)
    assert len(fake_engine.renders) == 1
    if state == "failed":
        assert job.error_code == "storage_unavailable"
        assert FlakyStorage.attempts == settings.GENERATION_STAGE_TRIES
        assert used_seconds(job) == 0
    else:
        assert Video.objects.filter(source_job_id=job.id).count() == 1


def test_a_lower_app_stops_queued_and_running_jobs_through_its_hook(
    fake_engine, django_capture_on_commit_callbacks, auth_client
):
    from tests.factories import UserFactory
    from tests.generation.conftest import PROMPT

    member = UserFactory()
    client = auth_client(member)
    with django_capture_on_commit_callbacks(execute=False):
        running_id = client.post("/api/v1/generations", PROMPT, format="json").json()["id"]
        queued_id = client.post("/api/v1/generations", PROMPT, format="json").json()["id"]
    banned = []
    # While the first job renders, the member is banned by an app that cannot import generation
    fake_engine.after_step = lambda step: banned.append(fake_lower_app.member_ban(user_id=member.id))

    with django_capture_on_commit_callbacks(execute=True):
        outcome = job_execute(job_id=running_id)

    running, queued = Job.objects.get(id=running_id), Job.objects.get(id=queued_id)
    assert banned == [2]  # one queued, one running
    assert (queued.state, queued.error_code, queued.attempts) == ("blocked", "test_member_banned", 0)
    assert (outcome.state, running.state, running.error_code) == ("blocked", "blocked", "test_member_banned")
    assert (running.stage, running.step) == ("render", 1)  # it stopped at the next step
    assert not Video.objects.exists()
    assert DailyUsage.objects.get(user=member).seconds == 0
    assert job_execute(job_id=queued_id).state == "blocked"  # its message, arriving late, starts nothing
    assert len(fake_engine.renders) == 1


def test_a_stop_that_lands_after_the_render_still_keeps_the_clip_from_its_draft(queued_job, fake_engine):
    def meanwhile(ctx):
        fake_lower_app.member_ban(user_id=queued_job.user_id)
        return PASSED

    assert job_execute(job_id=queued_job.id, stages=with_stage(meanwhile)).state == "blocked"
    assert not Video.objects.exists()


def test_a_pipeline_that_never_makes_its_draft_fails_closed(queued_job, fake_engine):
    without_draft = tuple(stage for stage in STAGES if stage.__name__ != "draft")
    assert job_execute(job_id=queued_job.id, stages=without_draft).state == "failed"
    job = Job.objects.get(id=queued_job.id)
    assert (job.error_code, job.error_message) == ("internal_error", "The pipeline ended without a draft.")
    assert not Video.objects.exists()


def test_a_stop_after_the_job_is_done_stops_nothing(queued_job, fake_engine):
    assert job_execute(job_id=queued_job.id).state == "succeeded"
    assert fake_lower_app.member_ban(user_id=queued_job.user_id) == 0
    job = Job.objects.get(id=queued_job.id)
    assert (job.state, job.stop_code) == ("succeeded", "")
    assert Video.objects.filter(id=job.video_id).exists()


@pytest.mark.usefixtures("transactional_db")  # no test-wide transaction around it
def test_work_stops_belong_inside_the_transaction_that_makes_the_change():
    from accounts.public import WorkStop, work_stop
    from tests.factories import JobFactory

    job = JobFactory()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        work_stop(WorkStop(subject="user", subject_id=job.user_id, error=PUBLIC_FIGURE))
    assert Job.objects.get(id=job.id).state == "queued"


def test_a_broken_channel_layer_loses_events_not_jobs(queued_job, fake_engine, settings):
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {
        "default": {**layer, "CONFIG": {**layer["CONFIG"], "hosts": [{"address": "redis://127.0.0.1:1/0"}]}}
    }
    assert job_execute(job_id=queued_job.id).state == "succeeded"


def test_a_stage_name_too_long_for_the_job_row_is_refused(queued_job, fake_engine):
    def screen_every_frame_for_public_figures_and_minors(ctx):
        return PASSED

    with pytest.raises(ValueError, match="stage names longer than 30"):
        job_execute(job_id=queued_job.id, stages=with_stage(screen_every_frame_for_public_figures_and_minors))


def test_the_fake_lower_app_does_not_import_generation():
    tree = ast.parse(inspect.getsource(fake_lower_app))
    imported = [
        getattr(node, "module", None) or node.names[0].name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert imported
    assert not [name for name in imported if name.startswith(("generation", "feed"))]


def test_work_stops_by_an_unknown_subject_are_refused_loudly(queued_job):
    from accounts.public import WorkStop

    with pytest.raises(ValueError, match="planet"):
        jobs.jobs_stop(WorkStop(subject="planet", subject_id=queued_job.id, error=PUBLIC_FIGURE))  # type: ignore[arg-type]


def test_cancel_while_running_stops_within_one_step(
    queued_job, fake_engine, django_capture_on_commit_callbacks
):
    from generation import services

    fake_engine.steps = 6
    fake_engine.after_step = lambda step: step == 2 and services.generation_cancel(job=queued_job)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_execute(job_id=queued_job.id).state == "cancelled"
    job = Job.objects.get(id=queued_job.id)
    assert job.step == 2  # the step after the cancel never completed
    assert not Video.objects.exists()
    assert used_seconds(job) == 0


def test_cancelled_while_queued_never_reaches_the_engine(queued_job, fake_engine):
    from generation import services

    services.generation_cancel(job=queued_job)
    assert job_execute(job_id=queued_job.id).state == "cancelled"
    assert fake_engine.renders == []
    assert used_seconds(queued_job) == 0


def test_deactivated_account_is_blocked_before_the_gpu(queued_job, fake_engine):
    type(queued_job.user).objects.filter(id=queued_job.user_id).update(is_active=False)
    assert job_execute(job_id=queued_job.id).state == "blocked"
    job = Job.objects.get(id=queued_job.id)
    assert (job.error_code, job.stage) == ("account_inactive", "recheck")
    assert fake_engine.renders == []


def test_an_attempt_that_lost_the_job_stops_without_touching_it(queued_job, fake_engine):
    # A worker host vanished; its job was handed to another worker (attempt 2). The orphaned
    # render of attempt 1 must stop quietly: no cancel, no final state, no draft of its own.
    def taken_over(step):
        if step == 1:
            Job.objects.filter(id=queued_job.id).update(attempts=2, heartbeat_at=timezone.now())

    fake_engine.after_step = taken_over
    outcome = job_execute(job_id=queued_job.id)
    job = Job.objects.get(id=queued_job.id)
    assert (outcome.state, job.state, job.attempts, job.cancel_requested) == ("running", "running", 2, False)
    assert not Video.objects.exists()


def test_stale_running_job_is_taken_over_and_still_makes_one_draft(queued_job, fake_engine):
    # Its first worker died mid-render: running, one attempt, heartbeat long gone
    Job.objects.filter(id=queued_job.id).update(
        state="running", attempts=1, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert job_execute(job_id=queued_job.id).state == "succeeded"
    assert job_execute(job_id=queued_job.id).state == "succeeded"  # a late duplicate delivery
    assert Job.objects.get(id=queued_job.id).attempts == 2
    assert Video.objects.filter(source_job_id=queued_job.id).count() == 1


def test_a_live_attempt_is_not_taken_over(queued_job, fake_engine):
    Job.objects.filter(id=queued_job.id).update(state="running", attempts=1, heartbeat_at=timezone.now())
    outcome = job_execute(job_id=queued_job.id)
    assert outcome.state == "running"
    assert 0 < outcome.retry_in_s <= 11
    assert Job.objects.get(id=queued_job.id).attempts == 1


def test_a_job_that_keeps_killing_workers_ends_failed(queued_job, fake_engine):
    Job.objects.filter(id=queued_job.id).update(
        state="running", attempts=3, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert job_execute(job_id=queued_job.id).state == "failed"
    assert Job.objects.get(id=queued_job.id).error_code == "attempts_exhausted"
    assert used_seconds(queued_job) == 0


def test_out_of_memory_goes_back_to_the_queue_then_fails(queued_job, fake_engine, listen):
    fake_engine.error = torch.cuda.OutOfMemoryError("CUDA out of memory")
    heard = listen(queued_job.user_id)
    first = job_execute(job_id=queued_job.id)
    assert (first.state, first.retry_in_s is not None) == ("queued", True)
    requeued = heard()[-1]  # the client hears the job wait again, with its attempts
    assert (requeued["type"], requeued["data"]["attempts"]) == ("generation.queued", 1)
    job_execute(job_id=queued_job.id)
    assert job_execute(job_id=queued_job.id).state == "failed"
    job = Job.objects.get(id=queued_job.id)
    assert (job.error_code, job.attempts) == ("out_of_memory", 3)
    assert used_seconds(job) == 0


def test_the_reaper_queues_silent_jobs_again_and_a_worker_finishes_them(queued_job, fake_engine, listen):
    Job.objects.filter(id=queued_job.id).update(
        state="running", attempts=1, heartbeat_at=timezone.now() - timedelta(minutes=1)
    )
    heard = listen(queued_job.user_id)
    assert jobs.jobs_reap_stale() == 1  # dispatched again (tasks run eagerly in tests)
    assert jobs.jobs_reap_stale() == 0
    job = Job.objects.get(id=queued_job.id)
    assert (job.state, job.attempts) == ("succeeded", 2)
    events = [(e["type"], e["data"]["attempts"]) for e in heard()]
    assert events[:2] == [("generation.queued", 1), ("generation.running", 2)]  # the client is told


def test_a_job_queued_too_long_since_its_dispatch_is_sent_again(queued_job, fake_engine, settings):
    settings.GENERATION_REDISPATCH_S = 60
    Job.objects.filter(id=queued_job.id).update(dispatched_at=timezone.now() - timedelta(seconds=30))
    assert jobs.jobs_redispatch_lost() == 0  # not yet
    Job.objects.filter(id=queued_job.id).update(dispatched_at=timezone.now() - timedelta(minutes=5))
    assert jobs.jobs_redispatch_lost() == 1  # its message was lost: sent again (run eagerly here)
    assert Job.objects.get(id=queued_job.id).state == "succeeded"


def test_a_job_never_dispatched_is_found_by_its_age(queued_job, fake_engine, settings):
    settings.GENERATION_REDISPATCH_S = 60
    Job.objects.filter(id=queued_job.id).update(
        dispatched_at=None, created_at=timezone.now() - timedelta(minutes=5)
    )
    assert jobs.jobs_redispatch_lost() == 1
    assert Job.objects.get(id=queued_job.id).state == "succeeded"
