"""Collaborative vectors: ALS learns two audiences from their events, scores each member's side above
the other, and blends behaviour into the ANN vectors of watched posts only; a report counts against
the post for its reporter."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from django.utils import timezone

from feed.models import ViewEvent
from moderation.models import QueueItem, Report
from recommender.collab import als_scores, collab_train
from recommender.models import CollabModel, UserFactors, VideoFactors, VideoVector
from recommender.vectors import as_array, unit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def unit_rows(rng: np.random.Generator, centre: np.ndarray, n: int) -> np.ndarray:
    rows = centre + 0.6 * rng.standard_normal((n, centre.size)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def two_audiences():
    """40 posts in two groups (A, B) with content near two centres, 30 members who like and watch
    posts of their own group only, and 4 posts nobody touched."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((2, 384)).astype(np.float32)
    now = timezone.now()
    groups: dict[str, list[uuid.UUID]] = {"A": [], "B": [], "cold": []}
    rows = []
    for name, centre, n in (("A", centres[0], 20), ("B", centres[1], 20), ("cold", centres[0], 4)):
        for vector in unit_rows(rng, centre, n):
            video_id = uuid.uuid4()
            groups[name].append(video_id)
            rows.append(
                VideoVector(
                    video_id=video_id,
                    creator_id=uuid.uuid4(),
                    posted_at=now,
                    content=vector,
                    vector=vector,
                    in_feeds=True,
                )
            )
    VideoVector.objects.bulk_create(rows)
    members = {"A": [uuid.uuid4() for _ in range(15)], "B": [uuid.uuid4() for _ in range(15)]}
    events = []
    for name, users in members.items():
        for user_id in users:
            for video_id in rng.choice(groups[name], size=8, replace=False):
                kind, watch = ("like", 0) if rng.random() < 0.5 else ("watch_progress", 15_000)
                events.append(
                    ViewEvent(
                        user_id=user_id,
                        video_id=video_id,
                        client_event_id=uuid.uuid4().hex,
                        kind=kind,
                        watch_ms=watch,
                        occurred_at=now,
                    )
                )
    ViewEvent.objects.bulk_create(events)
    return groups, members


def test_als_learns_the_audiences_and_scores_their_side_higher(two_audiences):
    groups, members = two_audiences

    version = collab_train()

    run = CollabModel.objects.get(version=version)
    assert (run.users, run.videos) == (30, 40)
    assert run.interactions > 0
    assert UserFactors.objects.filter(model_version=version).count() == 30
    # Every member of A scores A's posts above B's on average, and the reverse
    for mine, theirs in (("A", "B"), ("B", "A")):
        for user_id in members[mine]:
            scores = als_scores(user_id, groups[mine] + groups[theirs])
            assert scores[:20].mean() > scores[20:].mean()
    # A member or a post the training never saw scores 0
    assert als_scores(uuid.uuid4(), groups["A"][:2]).tolist() == [0.0, 0.0]
    assert als_scores(members["A"][0], groups["cold"]).tolist() == [0.0] * 4


def test_behaviour_moves_watched_posts_toward_their_audience_and_leaves_new_ones(two_audiences, settings):
    groups, _ = two_audiences
    settings.RECOMMENDER_BLEND_MAX, settings.RECOMMENDER_BLEND_HALF_AT = 0.5, 2  # ~6 members a post: 0.38
    rows = {row.video_id: row for row in VideoVector.objects.all()}
    centre = {name: unit(sum(as_array(rows[v].content) for v in groups[name])) for name in ("A", "B")}

    collab_train()

    # Then a watched post's ANN vector moves toward what its audience watches, staying near its content
    rows = {row.video_id: row for row in VideoVector.objects.all()}
    factors = set(VideoFactors.objects.values_list("video_id", flat=True))
    for name in ("A", "B"):
        for video_id in groups[name]:
            row = rows[video_id]
            vector, content = as_array(row.vector), as_array(row.content)
            assert video_id in factors
            assert 0.8 < float(vector @ content) < 0.999
            assert float(vector @ centre[name]) > float(content @ centre[name]) + 0.01
            assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-2)
    # And a post nobody touched keeps its content vector
    for video_id in groups["cold"]:
        assert video_id not in factors
        assert np.allclose(as_array(rows[video_id].vector), as_array(rows[video_id].content))


def test_posts_no_longer_in_the_window_fall_back_to_their_content(two_audiences):
    groups, _ = two_audiences
    collab_train()

    # When the events age out and the model is trained again
    ViewEvent.objects.all().delete()
    collab_train()

    # Then no post keeps a blend that nothing supports any more
    row = VideoVector.objects.get(video_id=groups["A"][0])
    assert not VideoFactors.objects.filter(video_id=row.video_id).exists()
    assert np.allclose(as_array(row.vector), as_array(row.content))


@pytest.mark.usefixtures("two_audiences")
def test_a_training_again_rewrites_only_the_blends_that_moved(settings):
    collab_train()
    written = {row.video_id: row.updated_at for row in VideoVector.objects.all()}

    # When the model is trained again on the same behaviour, with a threshold no blend can cross
    settings.RECOMMENDER_BLEND_EPSILON = 2.0
    collab_train()

    # Then the factors are new, and no vector row was rewritten (each would be a new HNSW entry)
    assert CollabModel.objects.order_by("-trained_at").first().params["vectors_moved"] == 0
    assert {row.video_id: row.updated_at for row in VideoVector.objects.all()} == written
    versions = set(VideoFactors.objects.values_list("model_version", flat=True))
    assert versions == {CollabModel.objects.order_by("-trained_at").first().version}


def test_a_report_is_a_negative_that_drops_the_post_for_its_reporter(two_audiences):
    groups, _ = two_audiences
    # Given a member who liked eight of A's posts
    reporter, liked = UserFactory(), groups["A"][:8]
    ViewEvent.objects.bulk_create(
        ViewEvent(
            user_id=reporter.id,
            video_id=v,
            client_event_id=uuid.uuid4().hex,
            kind="like",
            watch_ms=0,
            occurred_at=timezone.now(),
        )
        for v in liked
    )
    collab_train()
    before = als_scores(reporter.id, liked)
    assert before[0] > 0.5

    # When they report the first one, and ALS is trained again
    item = QueueItem.objects.create(subject_kind="video", subject_id=liked[0])
    Report.objects.create(
        reporter=reporter, item=item, subject_kind="video", subject_id=liked[0], reason="hate"
    )
    collab_train()

    # Then it scores below every other post they liked, and below where it was
    after = als_scores(reporter.id, liked)
    assert after[0] < min(after[1:])
    assert after[0] < before[0] - 0.3
