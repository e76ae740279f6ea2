"""Cameos in generation: consent at the request, in the worker and at the draft; revocation races.

The races of the issue, each through the real pipeline with the fake engine (tests/generation/fakes.py):
a revocation between the request and the render (the queued job ends blocked at once, its unit
refunded, the engine never runs), during the render (the job ends blocked at its next step), and
between the render and the draft (no draft is ever made). Revocations go through the cameo owner's
API, as a member would revoke, unless a test says it bypasses the stop on purpose.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from cameos.models import Cameo, Use
from feed.models import Video, VideoCameo
from generation import services
from generation.models import DailyUsage, Job
from generation.pipeline import STAGES, job_execute
from generation.pipeline.context import PASSED
from tests.cameos.factories import ApprovalFactory, CameoFactory, CameoReferenceFactory, RestrictionFactory
from tests.factories import JobFactory, UserFactory

pytestmark = pytest.mark.django_db

ASK = {"duration_s": 4, "aspect": "square", "quality": "draft"}


def ask(client, prompt, **extra):
    return client.post("/api/v1/generations", {**ASK, "prompt": prompt, **extra}, format="json")


def enqueued(member, prompt, capture, **extra) -> Job:
    """A job asked for through the service, queued and not yet dispatched."""
    with capture(execute=False):
        result = services.generation_enqueue(
            user_id=member.id,
            ask=services.ClipAsk(
                prompt=prompt,
                duration_s=4,
                aspect="square",
                quality="draft",
                cameo_handles=extra.get("cameos", ()),
            ),
        )
    return Job.objects.get(id=result.job.id)


def revoke(auth_client, cameo, level="only_me"):
    response = auth_client(cameo.owner).patch(f"/api/v1/cameos/{cameo.id}", {"level": level}, format="json")
    assert response.status_code == 200, response.content


def used_seconds(member) -> int:
    return DailyUsage.objects.get(user_id=member.id).seconds


def uses(cameo, stage=None):
    rows = Use.objects.filter(cameo=cameo).order_by("created_at")
    if stage:
        rows = rows.filter(stage=stage)
    return [(u.stage, u.allowed, u.code, u.job_id) for u in rows]


# --- the request ------------------------------------------------------------------------------


def test_a_prompts_handles_and_the_cameos_list_cast_each_cameo_once(auth_client):
    member = UserFactory()
    alice = CameoFactory(level="everyone")
    robo = CameoFactory(level="approved")
    ApprovalFactory(cameo=robo, user=member)

    response = ask(
        auth_client(member),
        f"@{alice.handle.upper()} and @{robo.handle} dance; @{alice.handle} bows",
        cameos=[robo.handle],
    )

    assert response.status_code == 201, response.content
    job = Job.objects.get(id=response.json()["id"])
    assert job.cameo_ids == [robo.id, alice.id]  # the list first, then the prompt's order
    assert response.json()["cameos"] == [robo.handle, alice.handle]
    assert job.prompt == f"@{alice.handle.upper()} and @{robo.handle} dance; @{alice.handle} bows"  # as typed
    assert uses(alice) == [("request", True, "", job.id)]
    assert uses(robo) == [("request", True, "", job.id)]
    detail = auth_client(member).get(f"/api/v1/generations/{job.id}").json()
    assert detail["cameos"] == [robo.handle, alice.handle]


def test_an_email_address_casts_nobody(auth_client):
    CameoFactory(level="everyone", handle="example")
    response = ask(auth_client(UserFactory()), "a card for bob@example.com falling")
    assert response.status_code == 201, response.content
    assert response.json()["cameos"] == []


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        pytest.param("nobody", 404, "cameo_not_found", id="unknown-handle"),
        pytest.param("only_me", 404, "cameo_not_found", id="hidden-cameo"),
        pytest.param("approved", 403, "cameo_permission_denied", id="not-approved"),
    ],
)
def test_refused_cameos_answer_their_code_and_cost_nothing(auth_client, case, status, code):
    member = UserFactory()
    handle = "nobody_here"
    cameo = None
    if case != "nobody":
        cameo = CameoFactory(level=case)
        handle = cameo.handle

    response = ask(auth_client(member), f"@{handle} waving hello")

    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["fields"]["cameos"][0]["code"] == code
    assert not Job.objects.exists()
    assert not DailyUsage.objects.filter(seconds__gt=0).exists()
    if case == "approved":  # seen, so logged for its owner: who tried, refused, no job
        assert uses(cameo) == [("request", False, code, None)]
    elif cameo is not None:  # a cameo the member may not see names nothing they may log against
        assert uses(cameo) == []


def test_a_restriction_refuses_the_prompt_and_is_quoted_back(auth_client):
    cameo = CameoFactory(level="everyone")
    RestrictionFactory(cameo=cameo, text="no political content")
    client = auth_client(UserFactory())

    refused = ask(client, f"@{cameo.handle} giving a speech at a campaign rally")
    allowed = ask(client, f"@{cameo.handle} surfing a huge wave at sunset")

    assert refused.status_code == 403, refused.content
    assert refused.json()["error"]["code"] == "cameo_restriction"
    assert '"no political content"' in refused.json()["error"]["message"]
    assert allowed.status_code == 201, allowed.content
    assert [u[:3] for u in uses(cameo)] == [("request", False, "cameo_restriction"), ("request", True, "")]


@pytest.mark.parametrize(
    ("prompt", "listed"),
    [
        pytest.param("@one @two @three on a bench", [], id="three-in-the-prompt"),
        pytest.param("@one and @two on a bench", ["three"], id="two-in-the-prompt-one-listed"),
    ],
)
def test_at_most_two_cameos(auth_client, prompt, listed):
    for handle in ("one", "two", "three"):
        CameoFactory(level="everyone", handle=handle)
    response = ask(auth_client(UserFactory()), prompt, cameos=listed)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "too_many_cameos"
    assert not Job.objects.exists()


def test_a_start_image_may_show_a_consented_cameo_only(auth_client, settings):
    """The start image's faces are checked against the consented cameos' face embeddings."""
    from tests.generation.test_cameo_engines import face_crop_of_t1, face_descriptor, webp_of

    settings.GENERATION_ENGINE = "tiny-ltx2"  # an engine that starts from an image
    crop = face_crop_of_t1()
    cameo = CameoFactory(level="everyone", face_embedding=face_descriptor(crop).tolist())
    client = auth_client(UserFactory())

    def upload(prompt):
        from django.core.files.uploadedfile import SimpleUploadedFile

        image = SimpleUploadedFile("start.webp", webp_of(crop), content_type="image/webp")
        return client.post(
            "/api/v1/generations", {**ASK, "prompt": prompt, "start_image": image}, format="multipart"
        )

    assert upload(f"@{cameo.handle} waving").status_code == 201
    refused = upload("a person waving")
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "likeness_real_person")


# --- the worker: recheck, races, the draft -------------------------------------------------------


def test_a_consented_job_makes_its_draft_with_its_cast_and_tells_the_owner(
    fake_engine, auth_client, django_capture_on_commit_callbacks
):
    member = UserFactory()
    cameo = CameoFactory(level="everyone", preferences="always wearing a red cap")
    CameoReferenceFactory(cameo=cameo)
    job = enqueued(member, f"@{cameo.handle} on a beach", django_capture_on_commit_callbacks)
    fake_engine.supports_reference_images = True

    with django_capture_on_commit_callbacks(execute=True):
        assert job_execute(job_id=job.id).state == "succeeded"

    video = Job.objects.get(id=job.id).video_id
    assert list(VideoCameo.objects.filter(video_id=video).values_list("cameo_id", "cameo_owner_id")) == [
        (cameo.id, cameo.owner_id)
    ]
    assert uses(cameo) == [
        ("request", True, "", job.id),
        ("worker", True, "", job.id),
        ("draft", True, "", job.id),
    ]
    assert Use.objects.get(cameo=cameo, stage="draft").video_id == video
    [render] = fake_engine.renders
    assert render.prompt == f"@{cameo.handle} on a beach"  # the member's prompt, as typed
    assert "always wearing a red cap" in render.cast_notes
    assert len(render.reference_images) == 1
    # the owner's oversight list shows it (feed's VideoCameo), and they were told
    listed = auth_client(cameo.owner).get(f"/api/v1/cameos/{cameo.id}/videos").json()["results"]
    assert [v["id"] for v in listed] == [str(video)]
    told = auth_client(cameo.owner).get("/api/v1/notifications").json()["results"]
    assert "cameo_used" in [group["type"] for group in told]


def test_an_engine_without_reference_images_gets_the_cast_in_words_only(
    fake_engine, django_capture_on_commit_callbacks
):
    cameo = CameoFactory(level="everyone", preferences="always wearing a red cap")
    CameoReferenceFactory(cameo=cameo)
    job = enqueued(UserFactory(), f"@{cameo.handle} on a beach", django_capture_on_commit_callbacks)
    assert job_execute(job_id=job.id).state == "succeeded"
    [render] = fake_engine.renders
    assert render.reference_images == ()
    assert "always wearing a red cap" in render.cast_notes


def test_the_worker_rechecks_consent_before_the_gpu(fake_engine, django_capture_on_commit_callbacks):
    """A withdrawal whose stop never reached the job (written behind the services' back) is still
    caught by the worker's recheck."""
    member = UserFactory()
    cameo = CameoFactory(level="everyone")
    job = enqueued(member, f"@{cameo.handle} juggling", django_capture_on_commit_callbacks)
    Cameo.objects.filter(id=cameo.id).update(level="only_me")

    assert job_execute(job_id=job.id).state == "blocked"

    job.refresh_from_db()
    assert (job.error_code, job.stage) == ("cameo_consent_revoked", "recheck")
    assert fake_engine.renders == []
    assert used_seconds(member) == 0
    assert uses(cameo, "worker") == [("worker", False, "cameo_not_found", job.id)]


def test_race_revoked_between_enqueue_and_render(
    fake_engine, auth_client, django_capture_on_commit_callbacks
):
    member = UserFactory()
    cameo = CameoFactory(level="everyone")
    job = enqueued(member, f"@{cameo.handle} juggling", django_capture_on_commit_callbacks)
    assert used_seconds(member) == 4

    revoke(auth_client, cameo)  # the owner lowers the level: consent is withdrawn for every user

    job.refresh_from_db()
    assert (job.state, job.error_code) == ("blocked", "cameo_consent_revoked")  # at once, while queued
    assert used_seconds(member) == 0  # refunded
    assert job_execute(job_id=job.id).state == "blocked"  # its message, arriving late, starts nothing
    assert fake_engine.renders == []
    assert not Video.objects.exists()


def test_race_approval_revoked_between_enqueue_and_render(
    fake_engine, auth_client, django_capture_on_commit_callbacks
):
    """Revoking one member's approval stops that member's queued job at once (its unit comes back),
    and only theirs: another approved member's job casting the same cameo goes on."""
    member, other = UserFactory(), UserFactory()
    cameo = CameoFactory(level="approved")
    approval = ApprovalFactory(cameo=cameo, user=member)
    ApprovalFactory(cameo=cameo, user=other)
    job = enqueued(member, f"@{cameo.handle} juggling", django_capture_on_commit_callbacks)
    kept = enqueued(other, f"@{cameo.handle} juggling", django_capture_on_commit_callbacks)

    response = auth_client(cameo.owner).post(f"/api/v1/cameos/{cameo.id}/requests/{approval.id}/revoke")
    assert response.status_code == 200, response.content

    job.refresh_from_db()
    assert (job.state, job.error_code) == ("blocked", "cameo_consent_revoked")
    assert used_seconds(member) == 0
    assert job_execute(job_id=job.id).state == "blocked"  # its message, arriving late, starts nothing
    assert fake_engine.renders == []
    assert Job.objects.get(id=kept.id).state == "queued"


def test_race_approval_revoked_during_the_render(
    fake_engine, auth_client, django_capture_on_commit_callbacks
):
    member = UserFactory()
    cameo = CameoFactory(level="approved")
    approval = ApprovalFactory(cameo=cameo, user=member)
    job = enqueued(member, f"@{cameo.handle} juggling", django_capture_on_commit_callbacks)
    url = f"/api/v1/cameos/{cameo.id}/requests/{approval.id}/revoke"
    fake_engine.steps = 5
    fake_engine.after_step = lambda step: step == 2 and auth_client(cameo.owner).post(url)

    with django_capture_on_commit_callbacks(execute=True):
        assert job_execute(job_id=job.id).state == "blocked"

    job.refresh_from_db()
    assert (job.error_code, job.stage, job.step, job.video_id) == ("cameo_consent_revoked", "render", 2, None)
    assert not Video.objects.exists()
    assert used_seconds(member) == 0


def test_race_revoked_during_the_render(fake_engine, auth_client, django_capture_on_commit_callbacks):
    member = UserFactory()
    cameo = CameoFactory(level="everyone")
    other = CameoFactory(level="everyone")
    job = enqueued(member, f"@{cameo.handle} juggling", django_capture_on_commit_callbacks)
    bystander = enqueued(UserFactory(), f"@{other.handle} juggling", django_capture_on_commit_callbacks)
    fake_engine.steps = 5
    fake_engine.after_step = lambda step: step == 2 and revoke(auth_client, cameo)

    with django_capture_on_commit_callbacks(execute=True):
        assert job_execute(job_id=job.id).state == "blocked"

    job.refresh_from_db()
    assert (job.error_code, job.stage, job.step) == ("cameo_consent_revoked", "render", 2)  # the next step
    assert not Video.objects.exists()
    assert used_seconds(member) == 0
    assert Job.objects.get(id=bystander.id).state == "queued"  # only the jobs casting that cameo


def revoking_stage(auth_client, cameo, *, behind_the_services_back=False):
    """A stage between the render and the draft that withdraws the cameo's consent."""

    def meanwhile(ctx):
        if behind_the_services_back:  # no stop reaches the job: only the draft's own check can see it
            Cameo.objects.filter(id=cameo.id).update(
                level="only_me", consent_version=cameo.consent_version + 1
            )
        else:
            revoke(auth_client, cameo)
        return PASSED

    names = [stage.__name__ for stage in STAGES]
    at = names.index("draft")
    return (*STAGES[:at], meanwhile, *STAGES[at:])


@pytest.mark.parametrize("behind", [False, True], ids=["through-the-stop", "seen-by-the-draft-under-lock"])
def test_race_revoked_between_render_and_draft(
    fake_engine, auth_client, django_capture_on_commit_callbacks, behind
):
    member = UserFactory()
    cameo = CameoFactory(level="everyone")
    job = enqueued(member, f"@{cameo.handle} juggling", django_capture_on_commit_callbacks)

    stages = revoking_stage(auth_client, cameo, behind_the_services_back=behind)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_execute(job_id=job.id, stages=stages).state == "blocked"

    job.refresh_from_db()
    assert (job.state, job.error_code, job.video_id) == ("blocked", "cameo_consent_revoked", None)
    assert len(fake_engine.renders) == 1  # it was rendered, and never delivered
    assert not Video.objects.exists()
    assert not VideoCameo.objects.exists()
    assert used_seconds(member) == 0
    if behind:
        assert uses(cameo, "draft") == [("draft", False, "cameo_not_found", job.id)]


@pytest.mark.django_db(transaction=True)
def test_race_a_revocation_holding_the_cameo_row_makes_the_draft_wait_and_see_it(fake_engine):
    """Two real transactions: a revocation locks the cameo row (FOR UPDATE) and has not committed when
    the draft asks for consent under FOR SHARE; the draft waits, then sees the withdrawal: no draft."""
    member = UserFactory()
    cameo = CameoFactory(level="everyone")
    # made as a row: a request would commit and, with eager Celery in tests, run at once
    job = JobFactory(
        user=member, prompt=f"@{cameo.handle} juggling", cameo_ids=[cameo.id], cameo_handles=[cameo.handle]
    )
    locked, release = threading.Event(), threading.Event()

    def revocation():
        try:
            with transaction.atomic():
                Cameo.objects.select_for_update().get(id=cameo.id)
                locked.set()
                release.wait(10)
                Cameo.objects.filter(id=cameo.id).update(level="only_me", consent_version=1)
        finally:
            connection.close()

    def before_draft(ctx):
        thread.start()
        assert locked.wait(10)
        # let the revocation commit a moment after the draft has started waiting on the row
        threading.Timer(0.5, release.set).start()
        return PASSED

    thread = threading.Thread(target=revocation)
    names = [stage.__name__ for stage in STAGES]
    at = names.index("draft")
    assert job_execute(job_id=job.id, stages=(*STAGES[:at], before_draft, *STAGES[at:])).state == "blocked"
    thread.join(10)
    job.refresh_from_db()
    assert (job.error_code, job.video_id) == ("cameo_consent_revoked", None)
    assert not Video.objects.exists()


# --- the schema --------------------------------------------------------------------------------


def test_the_schema_lists_the_cameo_codes_of_the_request_and_of_a_jobs_end():
    import json

    from tests.openapi import operations, schema

    (create,) = [op for op in operations() if op.id == "POST /api/v1/generations"]
    described = json.dumps(create.spec["responses"])
    for code in ("cameo_not_found", "cameo_permission_denied", "cameo_restriction", "too_many_cameos"):
        assert f"`{code}`" in described, code
    assert "cameos_unavailable" not in described
    job_schema = json.dumps(schema()["components"]["schemas"])
    for code in ("cameo_consent_revoked", "likeness_unconsented_cameo"):
        assert code in job_schema, code
