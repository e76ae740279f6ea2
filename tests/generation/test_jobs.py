"""Asking for a clip through the API, and what the worker makes of it."""

from __future__ import annotations

import io

import av
import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from feed.models import Video
from generation.models import DailyUsage, Job
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROMPT = {"prompt": "a red ball bouncing on a blue floor", "duration_s": 4, "aspect": "portrait"}


def test_prompt_to_playable_draft(auth_client, run_on_commit):
    user = UserFactory()
    client = auth_client(user)

    created = run_on_commit(client.post, "/api/v1/generations", PROMPT, format="json")

    assert created.status_code == 201, created.json()
    job = client.get(f"/api/v1/generations/{created.json()['id']}").json()
    assert job["state"] == "succeeded", job
    assert job["progress"]["percent"] == 100
    assert job["attempts"] == 1
    assert "noise" in job["engine"]["name"]
    video = Video.objects.get(id=job["video_id"])
    assert (video.owner_id, video.source_job_id, video.state) == (user.id, Job.objects.get().id, "draft")
    with video.video.open("rb") as handle:
        container = av.open(io.BytesIO(handle.read()))
    kinds = {stream.type: stream.codec_context.name for stream in container.streams}
    assert kinds == {"video": "h264", "audio": "aac"}
    assert video.has_audio
    assert DailyUsage.objects.get(user=user).seconds == PROMPT["duration_s"]  # the quota counts seconds


def test_idempotency_key_returns_the_same_job(auth_client, django_capture_on_commit_callbacks):
    client = auth_client(UserFactory())
    with django_capture_on_commit_callbacks(execute=False):
        first = client.post("/api/v1/generations", PROMPT, format="json", HTTP_IDEMPOTENCY_KEY="tap-1")
        again = client.post("/api/v1/generations", PROMPT, format="json", HTTP_IDEMPOTENCY_KEY="tap-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Job.objects.count() == 1
    bad = client.post("/api/v1/generations", PROMPT, format="json", HTTP_IDEMPOTENCY_KEY="no spaces allowed")
    assert bad.json()["error"]["code"] == "idempotency_key_invalid"


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        pytest.param({"duration_s": 5}, "duration_s", "invalid_choice", id="duration-not-offered"),
        pytest.param({"prompt": "x" * 1001}, "prompt", "max_length", id="prompt-too-long"),
        pytest.param({"prompt": "   "}, "prompt", "blank", id="prompt-blank"),
        pytest.param({"aspect": "diagonal"}, "aspect", "invalid_choice", id="aspect"),
        pytest.param({"seed": -1}, "seed", "min_value", id="seed-negative"),
        pytest.param({"remix_of": "not-a-uuid"}, "remix_of", "invalid", id="remix-bad-uuid"),
        pytest.param({"cameos": ["a", "b", "c"]}, "cameos", "too_many_cameos", id="three-cameos"),
        pytest.param({"turbo": True}, "turbo", "unknown_field", id="unknown-field"),
    ],
)
def test_bad_requests_are_4xx_and_cost_nothing(auth_client, change, field, code):
    user = UserFactory()
    response = auth_client(user).post("/api/v1/generations", {**PROMPT, **change}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["fields"][field][0]["code"] == code
    assert not Job.objects.exists()
    assert not DailyUsage.objects.filter(seconds__gt=0).exists()


def test_the_prompt_limit_is_the_setting_s(auth_client, settings):
    settings.GENERATION_PROMPT_MAX_CHARS = 10
    response = auth_client(UserFactory()).post("/api/v1/generations", PROMPT, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "prompt_too_long")
    assert response.json()["error"]["fields"]["prompt"][0]["code"] == "prompt_too_long"
    assert not Job.objects.exists()


def test_unknown_cameos_and_remix_parents_are_refused(auth_client):
    client = auth_client(UserFactory())
    cameo = client.post("/api/v1/generations", {**PROMPT, "cameos": ["friend"]}, format="json")
    assert (cameo.status_code, cameo.json()["error"]["code"]) == (404, "cameo_not_found")
    remix = client.post(
        "/api/v1/generations", {**PROMPT, "remix_of": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11"}, format="json"
    )
    assert (remix.status_code, remix.json()["error"]["code"]) == (404, "video_not_found")


def test_daily_quota_and_active_limit(auth_client, settings, django_capture_on_commit_callbacks):
    settings.GENERATION_TIERS = {
        **settings.GENERATION_TIERS,
        "standard": {"daily_seconds": 3 * PROMPT["duration_s"], "active": 2, "max_duration": 8},
    }
    user = UserFactory()
    client = auth_client(user)
    with django_capture_on_commit_callbacks(execute=False):
        codes = [client.post("/api/v1/generations", PROMPT, format="json").status_code for _ in range(3)]
        assert codes == [201, 201, 429]
        assert (
            client.post("/api/v1/generations", PROMPT, format="json").json()["error"]["code"]
            == "too_many_active"
        )
        # Cancelling gives the unit back and frees a slot; the day's cap still holds after that
        first = Job.objects.order_by("created_at").first()
        assert client.post(f"/api/v1/generations/{first.id}/cancel").json()["state"] == "cancelled"
        assert client.post("/api/v1/generations", PROMPT, format="json").status_code == 201
        Job.objects.filter(user=user).update(state=Job.State.SUCCEEDED)
        assert client.post("/api/v1/generations", PROMPT, format="json").status_code == 201
        over = client.post("/api/v1/generations", PROMPT, format="json")
    assert (over.status_code, over.json()["error"]["code"]) == (429, "quota_exceeded")


def test_durations_are_capped_per_tier(auth_client, django_capture_on_commit_callbacks):
    teen = UserFactory(birthdate=timezone.localdate().replace(year=timezone.localdate().year - 15))
    priority = UserFactory()
    priority.groups.add(Group.objects.get_or_create(name="priority")[0])
    with django_capture_on_commit_callbacks(execute=False):
        too_long = auth_client(teen).post("/api/v1/generations", {**PROMPT, "duration_s": 12}, format="json")
        assert (too_long.status_code, too_long.json()["error"]["code"]) == (403, "duration_over_tier")
        assert too_long.json()["error"]["fields"]["duration_s"]
        eight = auth_client(teen).post("/api/v1/generations", {**PROMPT, "duration_s": 8}, format="json")
        assert (eight.status_code, Job.objects.get().tier) == (201, "teen")
        minute = {**PROMPT, "duration_s": 60}
        assert (
            auth_client(UserFactory()).post("/api/v1/generations", minute, format="json").status_code == 403
        )
        assert auth_client(priority).post("/api/v1/generations", minute, format="json").status_code == 201
        odd = auth_client(priority).post("/api/v1/generations", {**PROMPT, "duration_s": 7}, format="json")
        assert odd.status_code == 400  # not one of GENERATION_DURATIONS
    assert DailyUsage.objects.get(user=priority).seconds == 60


def test_jobs_are_private(auth_client, django_capture_on_commit_callbacks):
    owner, other = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=False):
        job_id = auth_client(owner).post("/api/v1/generations", PROMPT, format="json").json()["id"]
    for method, url in [
        ("get", f"/api/v1/generations/{job_id}"),
        ("post", f"/api/v1/generations/{job_id}/cancel"),
        ("delete", f"/api/v1/generations/{job_id}"),
    ]:
        response = getattr(auth_client(other), method)(url)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "generation_not_found")
    assert auth_client(other).get("/api/v1/generations").json()["results"] == []
    assert len(auth_client(owner).get("/api/v1/generations").json()["results"]) == 1


def test_delete_only_finished_jobs(auth_client, django_capture_on_commit_callbacks):
    client = auth_client(UserFactory())
    with django_capture_on_commit_callbacks(execute=False):
        job_id = client.post("/api/v1/generations", PROMPT, format="json").json()["id"]
    assert client.delete(f"/api/v1/generations/{job_id}").json()["error"]["code"] == "job_active"
    client.post(f"/api/v1/generations/{job_id}/cancel")
    assert client.delete(f"/api/v1/generations/{job_id}").status_code == 204
    assert not Job.objects.exists()


def _png(colour=(200, 30, 30)) -> io.BytesIO:
    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (64, 96), colour).save(data, format="PNG")
    data.seek(0)
    data.name = "start.png"
    return data


def test_a_clip_can_start_from_an_image(auth_client, run_on_commit):
    client = auth_client(UserFactory())
    created = run_on_commit(
        client.post, "/api/v1/generations", {**PROMPT, "start_image": _png()}, format="multipart"
    )
    assert created.status_code == 201, created.json()
    job = client.get(f"/api/v1/generations/{created.json()['id']}").json()
    assert job["state"] == "succeeded", job
    assert job["has_start_image"]
    from PIL import Image

    with Job.objects.get().start_image.open("rb") as stored:
        assert Image.open(stored).size == (64, 96)  # kept in its own shape, not cropped like an avatar


@pytest.mark.parametrize(
    ("limit", "value", "code"),
    [
        pytest.param("GENERATION_START_IMAGE_MAX_BYTES", 100, "image_too_large", id="bytes"),
        pytest.param("GENERATION_START_IMAGE_MAX_PIXELS", 64 * 95, "image_too_many_pixels", id="pixels"),
    ],
)
def test_start_images_have_their_own_limits(auth_client, settings, limit, value, code):
    setattr(settings, limit, value)
    settings.AVATAR_MAX_BYTES, settings.AVATAR_MAX_PIXELS = 1, 1  # the avatar's limits play no part
    response = auth_client(UserFactory()).post(
        "/api/v1/generations", {**PROMPT, "start_image": _png()}, format="multipart"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)
    assert response.json()["error"]["fields"]["start_image"][0]["code"] == code
    assert not Job.objects.exists()


def test_a_start_image_the_engine_cannot_use_is_refused_up_front(auth_client, settings):
    settings.GENERATION_ENGINE = "builtin"  # the built-in model makes clips from text only
    user = UserFactory()
    response = auth_client(user).post(
        "/api/v1/generations", {**PROMPT, "start_image": _png()}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "start_image_unsupported"
    assert response.json()["error"]["fields"]["start_image"][0]["code"] == "start_image_unsupported"
    assert not Job.objects.exists()
    assert not DailyUsage.objects.filter(user=user, seconds__gt=0).exists()
