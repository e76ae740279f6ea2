"""Interest vectors: clusters of what a member engaged with, updated one event at a time; topics for
a member with none; likes, events and remixes feed them through feed's listeners."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pytest

from config.errors import KinoError
from feed.events import EventIn
from feed.services import video_post
from recommender.interests import interest_vectors, interests_on_events, interests_update, topics_set
from recommender.models import UserVector, VideoVector
from recommender.vectors import as_array, content_embed
from tests.factories import PostFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def topic_posts(rng: np.random.Generator, n_topics: int, per_topic: int) -> list[list[uuid.UUID]]:
    """Vector rows of posts on `n_topics` well separated topics (no feed rows: interests read vectors)."""
    centres = np.linalg.qr(rng.standard_normal((384, n_topics)))[0].T  # orthonormal topics
    topics = []
    for centre in centres:
        ids = []
        for _ in range(per_topic):
            vector = centre + 0.01 * rng.standard_normal(384)
            vector /= np.linalg.norm(vector)
            video_id = uuid.uuid4()
            VideoVector.objects.create(
                video_id=video_id,
                creator_id=uuid.uuid4(),
                posted_at=NOW,
                content=vector,
                vector=vector,
                in_feeds=True,
            )
            ids.append(video_id)
        topics.append(ids)
    return topics


def test_likes_on_two_tastes_make_two_clusters_and_a_fourth_taste_merges_two():
    topics = topic_posts(np.random.default_rng(1), 4, 3)
    member = uuid.uuid4()

    # Given likes on two topics, alternating
    interests_update(member, [(topics[i % 2][i // 2], 1.0) for i in range(6)])

    # Then two clusters, equally weighted, each close to one topic's posts
    vectors = interest_vectors(member)
    assert len(vectors) == 2
    assert sum(weight for _, weight in vectors) == pytest.approx(1.0)
    for vector, _ in vectors:
        assert (
            max(float(vector @ as_array(VideoVector.objects.get(video_id=t[0]).vector)) for t in topics[:2])
            > 0.95
        )

    # When two more topics come, the member keeps at most three clusters
    interests_update(member, [(topics[2][0], 1.0), (topics[3][0], 1.0), (topics[3][1], 1.0)])
    assert UserVector.objects.filter(user_id=member).count() == 3
    _heaviest, weight = interest_vectors(member)[0]
    assert weight > 1 / 3


def test_recent_interests_weigh_more_and_see_less_halves_a_cluster(settings):
    settings.RECOMMENDER_INTEREST_DECAY = 0.8
    topics = topic_posts(np.random.default_rng(2), 2, 6)
    member = uuid.uuid4()
    interests_update(member, [(video_id, 1.0) for video_id in topics[0][:3]])
    interests_update(member, [(video_id, 1.0) for video_id in topics[1][:3]])
    newest = interest_vectors(member)[0][0]
    assert float(newest @ as_array(VideoVector.objects.get(video_id=topics[1][0]).vector)) > 0.95

    before = dict(UserVector.objects.filter(user_id=member).values_list("slot", "weight"))
    interests_update(member, [(topics[1][4], -1.0)])
    after = dict(UserVector.objects.filter(user_id=member).values_list("slot", "weight"))
    assert sorted(after.values()) == pytest.approx(sorted([before[0] * 0.8, before[1] * 0.8 * 0.5]))


def test_events_sent_twice_count_once():
    topics = topic_posts(np.random.default_rng(3), 1, 2)
    member = uuid.uuid4()
    batch = [
        EventIn("e1", "like", topics[0][0], NOW),
        EventIn("e2", "watch_progress", topics[0][1], NOW, 20_000),
        EventIn("e3", "watch_progress", topics[0][1], NOW, 1_000),  # too short to count
        EventIn("e4", "impression", topics[0][1], NOW),
    ]
    interests_on_events(member, batch)
    interests_on_events(member, batch)
    assert list(UserVector.objects.filter(user_id=member).values_list("events", flat=True)) == [2]


def test_topics_start_a_cold_member_and_step_aside_for_real_events():
    member = UserFactory()
    assert interest_vectors(member.id) == []

    # When a new member picks topics
    topics_set(
        user_id=member.id, topics=["cooking", " Baking ", "baking", "football", "space travel", "rockets"]
    )

    # Then up to three clusters stand for them, cooking near cooking
    vectors = interest_vectors(member.id)
    assert 1 <= len(vectors) <= 3
    cooking = content_embed(["a chef cooking dinner"])[0]
    rockets = content_embed(["a rocket launch"])[0]
    assert max(float(v @ cooking) for v, _ in vectors) > 0.4
    assert max(float(v @ rockets) for v, _ in vectors) > 0.4

    # And once the member has events of their own, new topics change the profile only
    post = topic_posts(np.random.default_rng(4), 1, 1)[0][0]
    interests_update(member.id, [(post, 1.0)])
    count = UserVector.objects.filter(user_id=member.id).count()
    assert topics_set(user_id=member.id, topics=["knitting"]) == ["knitting"]
    assert UserVector.objects.filter(user_id=member.id).count() == count


@pytest.mark.parametrize(
    "topics",
    [["x" * 41], [""], [3], "cooking", [f"t{i}" for i in range(11)]],
    ids=["too-long", "empty", "not-text", "not-a-list", "too-many"],
)
def test_bad_topics_are_refused(topics):
    with pytest.raises(KinoError) as refused:
        topics_set(user_id=uuid.uuid4(), topics=topics)
    assert refused.value.error.code == "feed_topics_invalid"


def test_a_like_and_a_remix_teach_interests_through_feeds_listeners(
    auth_client, django_capture_on_commit_callbacks
):
    # Given a post with its vector
    ann, bob = UserFactory(), UserFactory()
    post = PostFactory(owner=ann)
    vector = content_embed(["a dog surfing a wave"])[0]
    VideoVector.objects.create(
        video_id=post.id,
        creator_id=ann.id,
        posted_at=post.posted_at,
        content=vector,
        vector=vector,
        in_feeds=True,
    )

    # When Bob likes it: his interests hold it
    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client(bob).post(f"/api/v1/videos/{post.id}/like").status_code in (200, 201)
    ((interest, _weight),) = interest_vectors(bob.id)
    assert float(interest @ vector) > 0.99

    # When Cleo posts a remix of it: hers do too
    cleo = UserFactory()
    remix = VideoFactory(owner=cleo, remix_of_id=post.id, lineage=[post.id], depth=1)
    with django_capture_on_commit_callbacks(execute=True):
        video_post(owner_id=cleo.id, video_id=remix.id)
    assert UserVector.objects.filter(user_id=cleo.id).count() == 1
