from __future__ import annotations

import pytest

from generation.models import Job
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PROMPT = {"prompt": "a blue cube spinning", "duration_s": 4}


def test_staff_see_engine_stats_and_can_cancel_and_retry(
    client, auth_client, run_on_commit, django_capture_on_commit_callbacks
):
    member = UserFactory()
    run_on_commit(auth_client(member).post, "/api/v1/generations", PROMPT, format="json")  # one that succeeds
    with django_capture_on_commit_callbacks(execute=False):
        queued_id = auth_client(member).post("/api/v1/generations", PROMPT, format="json").json()["id"]
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)

    page = client.get("/admin/generation/job/")
    assert page.status_code == 200
    assert b"Avg run (s)" in page.content
    assert b"tiny random weights" in page.content  # the engine row of the succeeded job
    assert b"Stage (latest 500 finished jobs)" in page.content  # where the time goes, per stage
    assert b"<td>render</td>" in page.content

    client.post("/admin/generation/job/", {"action": "cancel", "_selected_action": [queued_id]})
    assert Job.objects.get(id=queued_id).state == "cancelled"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/generation/job/", {"action": "retry", "_selected_action": [queued_id]})
    assert Job.objects.get(id=queued_id).state == "succeeded"
    assert client.get(f"/admin/generation/job/{queued_id}/change/").status_code == 200
    assert client.get("/admin/generation/dailyusage/").status_code == 200
    assert client.get("/admin/feed/video/").status_code == 200
