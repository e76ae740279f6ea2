"""Quotas hold under concurrent requests: 50 at once against a quota of 5 → exactly 5 accepted."""

from __future__ import annotations

import threading

import httpx
import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from generation.models import DailyUsage, Job
from tests.factories import UserFactory

pytestmark = pytest.mark.slow


def test_fifty_simultaneous_requests_at_a_quota_of_five(transactional_db, tmp_path):
    from tests.live import LiveStack

    (tmp_path / "mail").mkdir()
    # Real uvicorn processes; no worker, so the accepted jobs wait in the queue (purged after).
    stack = LiveStack(
        tmp_path / "mail", worker=False, env={"GENERATION_DAILY_SECONDS": "20", "GENERATION_MAX_ACTIVE": "50"}
    ).start()
    user = UserFactory()
    token = str(RefreshToken.for_user(user).access_token)
    barrier = threading.Barrier(50)
    codes: list[int] = []

    def ask(i: int) -> None:
        with httpx.Client(base_url=stack.base, timeout=60) as client:
            barrier.wait()
            response = client.post(
                "/api/v1/generations",
                headers={"Authorization": f"Bearer {token}"},
                json={"prompt": f"clip {i}", "duration_s": 4},
            )
            codes.append(response.status_code)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(50)]
    race_then_stop(stack, threads)
    assert sorted(codes) == [201] * 5 + [429] * 45
    assert Job.objects.filter(user=user).count() == 5
    assert DailyUsage.objects.get(user=user).seconds == 20  # five clips of 4 s


def test_one_idempotency_key_sent_twelve_times_at_once_makes_one_job(transactional_db, tmp_path):
    from tests.live import LiveStack

    (tmp_path / "mail").mkdir()
    stack = LiveStack(tmp_path / "mail", worker=False).start()
    user = UserFactory()
    token = str(RefreshToken.for_user(user).access_token)
    barrier = threading.Barrier(12)
    answers: list[tuple[int, str]] = []

    def ask() -> None:
        with httpx.Client(base_url=stack.base, timeout=60) as client:
            barrier.wait()
            response = client.post(
                "/api/v1/generations",
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "double-tap"},
                json={"prompt": "one clip", "duration_s": 4},
            )
            answers.append((response.status_code, response.json().get("id", response.text)))

    threads = [threading.Thread(target=ask) for _ in range(12)]
    race_then_stop(stack, threads)
    assert sorted(code for code, _ in answers) == [200] * 11 + [201]
    assert len({job_id for _, job_id in answers}) == 1
    assert Job.objects.filter(user=user).count() == 1
    assert DailyUsage.objects.get(user=user).seconds == 4  # one clip of 4 s


def race_then_stop(stack, threads) -> None:
    """Start the threads together and wait for them; then stop the stack and purge the queued jobs
    (there is no worker to run them)."""
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stack.stop()
        from config.celery import app

        with app.connection_for_write() as connection:
            for queue in ("generation", "generation.priority"):
                connection.default_channel.queue_purge(queue)
