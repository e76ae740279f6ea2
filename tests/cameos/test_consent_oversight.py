"""Revocation, moderation, export and the admin for cameos: what the consent part owes the rest.

Stopping jobs is generation's answer to `work_stop(subject="cameo")` (it finds them by
Job.cameo_ids); the race end to end is generation's test. Here: every way consent is withdrawn
bumps the version and stops the jobs casting the cameo, and only those.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group

from accounts.public import member_deactivate
from accounts.roles import MODERATORS, moderators_group_sync
from cameos.export import PART
from cameos.models import Approval, Cameo, Use
from generation.models import Job
from tests.cameos.factories import (
    ApprovalFactory,
    CameoFactory,
    CameoReferenceFactory,
    RestrictionFactory,
    UseFactory,
)
from tests.factories import JobFactory, UserFactory
from tests.moderation.casework import decide, moderator, open_item, report

pytestmark = pytest.mark.django_db


def casting(cameo, **kwargs):
    return JobFactory(cameo_ids=[cameo.id], **kwargs)


def states(*jobs):
    return [Job.objects.get(id=job.id).state for job in jobs]


def test_lowering_the_level_stops_every_job_casting_the_cameo(auth_client):
    cameo = CameoFactory(level="everyone")
    other = CameoFactory(level="everyone")
    job, unrelated = casting(cameo), casting(other)
    response = auth_client(cameo.owner).patch(
        f"/api/v1/cameos/{cameo.id}", {"level": "approved"}, format="json"
    )
    assert response.status_code == 200
    assert states(job, unrelated) == ["blocked", "queued"]
    assert Job.objects.get(id=job.id).error_code == "cameo_consent_revoked"
    assert Cameo.objects.get(id=cameo.id).consent_version == 1


def test_widening_the_level_stops_nothing(auth_client):
    cameo = CameoFactory(level="approved")
    job = casting(cameo)
    auth_client(cameo.owner).patch(f"/api/v1/cameos/{cameo.id}", {"level": "everyone"}, format="json")
    assert states(job) == ["queued"]
    assert Cameo.objects.get(id=cameo.id).consent_version == 0


def test_deleting_the_cameo_stops_its_jobs(auth_client):
    cameo = CameoFactory(level="everyone")
    job = casting(cameo)
    assert auth_client(cameo.owner).delete(f"/api/v1/cameos/{cameo.id}").status_code == 204
    assert states(job) == ["blocked"]


def test_the_owners_deactivation_stops_jobs_casting_their_cameo():
    cameo = CameoFactory(level="everyone")
    job = casting(cameo)  # someone else's job
    member_deactivate(user=cameo.owner)
    assert states(job) == ["blocked"]
    assert Cameo.objects.get(id=cameo.id).consent_version == 1


def test_the_owners_deletion_stops_jobs_casting_their_cameo(auth_client):
    from tests.factories import PASSWORD

    cameo = CameoFactory(level="everyone")
    job = casting(cameo)
    response = auth_client(cameo.owner).delete("/api/v1/me", {"password": PASSWORD}, format="json")
    assert response.status_code in (200, 204), response.content
    assert states(job) == ["blocked"]
    assert not Cameo.objects.filter(id=cameo.id).exists()


def test_a_moderator_takes_a_reported_cameo_down_and_restores_it(auth_client):
    # given a cameo open to everyone, reported by a member who sees it
    cameo = CameoFactory(level="everyone")
    job = casting(cameo)
    reporter = UserFactory()
    assert report(auth_client(reporter), "cameo", cameo.id, reason="impersonation").status_code == 201
    # a member who may not see a cameo cannot report it
    hidden = CameoFactory(level="only_me")
    assert report(auth_client(reporter), "cameo", hidden.id).status_code == 404
    # when a moderator takes it down
    decide(open_item("cameo", cameo.id), moderator(), "take_down", reason_code="cameo_misuse")
    # then it is suspended, nobody may cast it, and the job casting it stopped
    assert Cameo.objects.get(id=cameo.id).state == "suspended"
    assert states(job) == ["blocked"]
    assert auth_client(reporter).get(f"/api/v1/cameos/{cameo.id}").status_code == 404
    assert auth_client(cameo.owner).get(f"/api/v1/cameos/{cameo.id}").json()["state"] == "suspended"
    # and restoring makes it active again
    from moderation.subjects import subject_handler

    handler = subject_handler("cameo")
    assert handler is not None
    handler.restore(cameo.id, None)
    assert Cameo.objects.get(id=cameo.id).state == "active"


class Sink:
    def __init__(self):
        self.json, self.files = {}, {}

    def write_json(self, name, value):
        self.json[name] = json.loads(json.dumps(value, default=str))

    def write_file(self, name, storage_name):
        self.files[name] = storage_name


def test_the_export_has_cameos_consents_approvals_and_uses_but_no_embedding_values():
    cameo = CameoFactory(level="approved", preferences="always wearing a red cap")
    CameoReferenceFactory(cameo=cameo)
    RestrictionFactory(cameo=cameo, text="no alcohol")
    ApprovalFactory(cameo=cameo, state=Approval.State.REQUESTED)
    theirs = CameoFactory(level="approved")
    ApprovalFactory(cameo=theirs, user=cameo.owner)
    UseFactory(cameo=cameo, stage=Use.Stage.DRAFT)
    UseFactory(cameo=theirs, user=cameo.owner)
    sink = Sink()
    PART.write(cameo.owner_id, sink)
    (mine,) = sink.json["cameos.json"]
    assert mine["handle"] == cameo.handle
    assert mine["level"] == "approved"
    assert mine["restrictions"] == ["no alcohol"]
    assert mine["preferences"] == "always wearing a red cap"
    assert mine["face_embedding_stored"] is True
    assert mine["voice_embedding_stored"] is False
    assert "face_embedding" not in mine
    assert len(mine["reference_images"]) == 1
    assert list(sink.files) == [name.removeprefix("cameos/") for name in mine["reference_images"]]
    assert [a["state"] for a in mine["approvals_given"]] == ["requested"]
    assert [r["cameo__handle"] for r in sink.json["requests.json"]] == [theirs.handle]
    assert len(sink.json["uses.json"]["of_my_cameos"]) == 1
    assert len(sink.json["uses.json"]["by_me"]) == 1
    floats = [v for v in json.dumps(sink.json).split(",") if v.strip().startswith("0.0")]
    assert floats == []


def test_moderators_read_cameos_in_the_admin(client):
    moderators_group_sync()
    cameo = CameoFactory()
    UseFactory(cameo=cameo)
    ApprovalFactory(cameo=cameo)
    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name=MODERATORS))
    client.force_login(staff)
    for model in ("cameo", "approval", "use", "registration"):
        assert client.get(f"/admin/cameos/{model}/").status_code == 200, model
    page = client.get(f"/admin/cameos/cameo/{cameo.id}/change/")
    assert page.status_code == 200
    assert b"face stored" in page.content.lower()
    assert b"face_embedding" not in page.content  # the template itself is never shown
    assert client.get(f"/admin/cameos/cameo/?q={cameo.handle}").status_code == 200
