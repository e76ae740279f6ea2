"""Cold start from topics picked at signup, and the recommender's admin pages (vectors, rankers)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from django.utils import timezone

from accounts.models import Invite
from recommender.interests import interest_vectors
from recommender.models import CollabModel, FeedProfile, Impression, RankerModel, UserVector, VideoVector
from recommender.vectors import content_embed
from tests.factories import InviteFactory, UserFactory, signup_payload

pytestmark = pytest.mark.django_db


def test_topics_picked_at_signup_start_the_new_members_feed(api):
    invite = InviteFactory(created_by=UserFactory(), source=Invite.Source.MEMBER)

    response = api.post(
        "/api/v1/auth/signup", signup_payload(invite.code, topics=["cooking", "space travel"]), format="json"
    )

    assert response.status_code == 201, response.json()
    member_id = uuid.UUID(response.json()["user"]["id"])
    assert FeedProfile.objects.get(user_id=member_id).topics == ["cooking", "space travel"]
    vectors = interest_vectors(member_id)
    assert len(vectors) == 2
    cooking = content_embed(["a chef cooking dinner"])[0]
    assert max(float(vector @ cooking) for vector, _ in vectors) > 0.4


def test_signup_without_topics_starts_cold_and_bad_topics_are_refused_before_the_account(api):
    invite = InviteFactory(created_by=UserFactory(), source=Invite.Source.MEMBER)
    refused = api.post("/api/v1/auth/signup", signup_payload(invite.code, topics=["x" * 41]), format="json")
    assert refused.status_code == 400
    assert "topics" in refused.json()["error"]["fields"]

    response = api.post("/api/v1/auth/signup", signup_payload(invite.code), format="json")
    assert response.status_code == 201
    assert interest_vectors(uuid.UUID(response.json()["user"]["id"])) == []


def test_staff_see_vector_rows_clusters_and_trainings_without_the_vectors(admin_client):
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    video_id, user_id = uuid.uuid4(), uuid.uuid4()
    VideoVector.objects.create(
        video_id=video_id, creator_id=uuid.uuid4(), posted_at=timezone.now(), content=vector, vector=vector
    )
    UserVector.objects.create(user_id=user_id, slot=0, vector=vector, weight=1.0, events=3)
    CollabModel.objects.create(version="als-test", users=1, videos=1, interactions=1, seconds=0.1)

    listing = admin_client.get("/admin/recommender/videovector/").content.decode()
    assert str(video_id) in listing
    assert "0.05103" not in listing  # 1/sqrt(384): no vector is printed
    for page in ("uservector", "userfactors", "collabmodel"):
        assert admin_client.get(f"/admin/recommender/{page}/").status_code == 200
    assert admin_client.get(f"/admin/recommender/videovector/{video_id}/change/").status_code == 200

    # Embedding again from the admin re-reads the post: a row whose post is gone keeps its vectors
    done = admin_client.post(
        "/admin/recommender/videovector/",
        {"action": "embed_again", "_selected_action": [str(video_id)]},
        follow=True,
    )
    assert "0 post(s) embedded." in done.content.decode()


def test_staff_see_the_rankers_their_metrics_and_the_impressions_they_learn_from(admin_client, monkeypatch):
    # Given two trained rankers, one serving, and an impression the serving one scored
    RankerModel.objects.create(
        version="lr-old", weights={}, metrics={"impressions": 900, "auc": {"like": 0.61}}
    )
    RankerModel.objects.create(
        version="lr-new",
        weights={},
        metrics={"impressions": 1200, "auc": {"like": 0.7, "remix": 0.66, "see_less": None}},
        active=True,
    )
    viewer, video_id = uuid.uuid4(), uuid.uuid4()
    Impression.objects.create(
        user_id=viewer,
        video_id=video_id,
        page_key="k",
        position=3,
        source="ann",
        score=1.5,
        model_version="lr-new",
    )

    # Then staff read which serves and how each measured, and what was served to whom
    rankers = admin_client.get("/admin/recommender/rankermodel/", {"active__exact": "1"}).content.decode()
    assert "lr-new" in rankers
    assert "lr-old" not in rankers
    assert "like 0.700, remix 0.660, see_less n/a" in rankers
    found = admin_client.get("/admin/recommender/impression/", {"q": str(viewer)}).content.decode()
    assert str(video_id) in found
    assert admin_client.get("/admin/recommender/videofactors/").status_code == 200

    # And may queue a training of either model from its list (the worker trains it)
    queued = []
    monkeypatch.setattr("recommender.admin.ranker_train_task.delay", lambda: queued.append("ranker"))
    monkeypatch.setattr("recommender.admin.collab_train_task.delay", lambda: queued.append("als"))
    als = CollabModel.objects.create(version="als-test", users=1, videos=1, interactions=1, seconds=0.1)
    for page, pk in (("rankermodel", RankerModel.objects.get(version="lr-new").pk), ("collabmodel", als.pk)):
        done = admin_client.post(
            f"/admin/recommender/{page}/", {"action": "train_now", "_selected_action": [str(pk)]}, follow=True
        )
        assert "A training is queued" in done.content.decode()
    assert queued == ["ranker", "als"]
