"""Generation through real processes: uvicorn, a Celery worker, the tiny engine, the WebSocket."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import time

import av
import httpx
import psutil
import pytest
import websockets
from rest_framework_simplejwt.tokens import RefreshToken

from feed.models import Video
from generation.models import Job
from generation.pipeline import STAGES
from tests.factories import UserFactory

pytestmark = pytest.mark.slow


def start_stack(tmp_path, server_env=None, **env):
    from tests.live import LiveStack

    (tmp_path / "mail").mkdir()
    return LiveStack(
        tmp_path / "mail", env={k: str(v) for k, v in env.items()}, server_env=server_env
    ).start()


def wait_for(predicate, timeout_s=120, every_s=0.3):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError("timed out")


def test_prompt_to_playable_draft_over_the_network(transactional_db, tmp_path):
    stack = start_stack(tmp_path)
    try:
        user = UserFactory()
        token = str(RefreshToken.for_user(user).access_token)
        api = httpx.Client(
            base_url=stack.base + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

        async def follow() -> list[dict]:
            events = []
            async with websockets.connect(f"{stack.ws}?token={token}") as ws:
                await ws.recv()  # session.ready
                created = await asyncio.to_thread(
                    api.post,
                    "/generations",
                    json={"prompt": "a red ball bouncing", "duration_s": 4},
                    headers={"Idempotency-Key": "first-clip"},
                )
                assert created.status_code == 201, created.text
                async with asyncio.timeout(120):
                    while not events or events[-1]["type"] != "generation.succeeded":
                        events.append(json.loads(await ws.recv()))
            return events

        events = asyncio.run(follow())
        types = [e["type"] for e in events]
        assert types[:2] == ["generation.queued", "generation.running"]
        assert "generation.progress" in types
        stages = [e["data"]["stage"] for e in events if e["type"] == "generation.stage"]
        assert stages == [stage.__name__ for stage in STAGES][1:]  # every stage after claim, in order
        job = api.get(f"/generations/{events[-1]['data']['id']}").json()
        assert (job["state"], job["stage"]) == ("succeeded", "draft")
        assert [t["stage"] for t in job["timings"]] == ["claim", *stages]
        # The worker says which engine its pool loaded; /healthz shows it next to the configured one
        engine = httpx.get(f"{stack.base}/healthz").json()["engine"]
        assert engine["configured"] == "tiny-ltx2"
        assert engine["loaded"] == [f"{job['engine']['name']} {job['engine']['version']}"]
        video = api.get(f"/videos/{job['video_id']}").json()
        head = httpx.get(video["video_url"], headers={"Range": "bytes=0-1023"})
        assert (head.status_code, len(head.content)) == (206, 1024)
        mp4 = httpx.get(video["video_url"]).content
        streams = {s.type: s.codec_context.name for s in av.open(io.BytesIO(mp4)).streams}
        assert streams == {"video": "h264", "audio": "aac"}
    finally:
        stack.stop()


def test_worker_killed_mid_render_loses_nothing_and_duplicates_nothing(transactional_db, tmp_path):
    stack = start_stack(tmp_path, GENERATION_STEPS=40, GENERATION_STALE_S=4, GENERATION_HEARTBEAT_S=1)
    try:
        user = UserFactory()
        token = str(RefreshToken.for_user(user).access_token)
        api = httpx.Client(
            base_url=stack.base + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        job_id = api.post("/generations", json={"prompt": "a cat dancing", "duration_s": 4}).json()["id"]
        wait_for(lambda: Job.objects.filter(id=job_id, step__gte=2).exists())
        worker = psutil.Process(stack.processes[1].pid)
        for child in worker.children(recursive=True):  # the pool process rendering the job
            os.kill(child.pid, signal.SIGKILL)
        job = wait_for(lambda: Job.objects.filter(id=job_id, state__in=Job.FINISHED).first(), timeout_s=180)
        assert job.state == "succeeded", (job.error_code, job.error_message)
        assert job.attempts == 2
        assert Video.objects.filter(source_job_id=job_id).count() == 1
    finally:
        stack.stop()


def test_a_job_whose_dispatch_failed_still_finishes(transactional_db, tmp_path):
    # The web server's broker is unreachable: the request must still answer 201 (the job committed),
    # and a worker's sweep sends the lost task again.
    stack = start_stack(
        tmp_path,
        server_env={"CELERY_BROKER_URL": "redis://127.0.0.1:1/0"},
        GENERATION_REDISPATCH_S=2,
        GENERATION_REAP_S=1,
    )
    try:
        user = UserFactory()
        token = str(RefreshToken.for_user(user).access_token)
        api = httpx.Client(
            base_url=stack.base + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        created = api.post("/generations", json={"prompt": "a lost message", "duration_s": 4})
        assert created.status_code == 201, created.text
        job = wait_for(lambda: Job.objects.filter(id=created.json()["id"], state__in=Job.FINISHED).first())
        assert job.state == "succeeded", (job.error_code, job.error_message)
    finally:
        stack.stop()
