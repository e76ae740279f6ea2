from __future__ import annotations

import pytest

from generation import engines, services
from generation.models import Job
from tests.factories import UserFactory
from tests.generation.fakes import FakeEngine

PROMPT = {"prompt": "a red ball bouncing on a blue floor", "duration_s": 4, "aspect": "portrait"}


@pytest.fixture
def fresh_engine():
    """The process loads its engine from settings again, around a test that changes engine settings."""
    engines.engine_install(None)
    yield
    engines.engine_install(None)


@pytest.fixture
def fake_engine(settings):
    """A fast fake engine installed as this process's engine; the test may arm its hooks."""
    settings.GENERATION_STAGE_BACKOFF_S = 0  # transient retries without waiting
    engine = FakeEngine()
    engines.engine_install(engine)
    yield engine
    engines.engine_install(None)


@pytest.fixture
def queued_job(db, django_capture_on_commit_callbacks):
    """A job asked for through the service (its quota unit taken), queued and not yet dispatched."""
    with django_capture_on_commit_callbacks(execute=False):
        result = services.generation_enqueue(
            user_id=UserFactory().id,
            ask=services.ClipAsk(prompt=PROMPT["prompt"], duration_s=4, aspect="square", quality="draft"),
        )
    return Job.objects.get(id=result.job.id)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a request queued on commit (the job itself, eagerly, with the real engine)."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call
