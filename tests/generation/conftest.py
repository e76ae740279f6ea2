from __future__ import annotations

import pytest

from generation import engines


@pytest.fixture
def fresh_engine():
    """Forget the process's loaded engine around a test that changes engine settings."""
    engines._engine = None
    yield
    engines._engine = None


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a request queued on commit (the job itself, eagerly, with the real engine)."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call
