"""The remix rule through `POST /api/v1/generations`: only a post that allows it, visible to the asker,
can be remixed; the remix's draft names its lineage; posting it counts it on every ancestor and tells
the parent's creator; unposting, deleting and a takedown count it out again."""

from __future__ import annotations

import pytest

from feed.models import NotificationGroup, Video, VideoStats
from feed.services import video_remove
from generation import engines
from generation.models import Job
from tests.factories import BlockFactory, PostFactory, UserFactory, VideoFactory
from tests.generation.fakes import FakeEngine

pytestmark = pytest.mark.django_db

ASK = {"prompt": "the same boat, now at night", "duration_s": 4, "aspect": "square", "quality": "draft"}


@pytest.fixture
def fake_engine(settings):
    settings.GENERATION_STAGE_BACKOFF_S = 0
    engine = FakeEngine()
    engines.engine_install(engine)
    yield engine
    engines.engine_install(None)


def ask_remix(auth_client, member, parent_id, django_capture_on_commit_callbacks):
    """The member asks for a remix; the job runs at once (eagerly, on commit) with the fake engine."""
    with django_capture_on_commit_callbacks(execute=True):
        return auth_client(member).post(
            "/api/v1/generations", {**ASK, "remix_of": str(parent_id)}, format="json"
        )


def counts(video) -> tuple[int, int]:
    stats = VideoStats.objects.get(video=video)
    return stats.remixes, stats.descendants


def test_a_remix_of_a_post_becomes_a_draft_with_its_lineage(
    auth_client, fake_engine, django_capture_on_commit_callbacks
):
    # Given a chain root <- parent, both posts, and a member who may see them
    root = PostFactory()
    parent = PostFactory(parent=root)
    member = UserFactory()

    # When the member asks for a remix of the parent
    created = ask_remix(auth_client, member, parent.id, django_capture_on_commit_callbacks)

    # Then the job makes a draft that names the whole chain, root first
    assert created.status_code == 201, created.json()
    job = auth_client(member).get(f"/api/v1/generations/{created.json()['id']}").json()
    assert (job["state"], job["remix_of"]) == ("succeeded", str(parent.id)), job
    draft = Video.objects.get(id=job["video_id"])
    assert (draft.state, draft.remix_of_id, draft.lineage, draft.depth) == (
        "draft",
        parent.id,
        [root.id, parent.id],
        2,
    )
    card = auth_client(member).get(f"/api/v1/videos/{draft.id}").json()
    assert (card["remix_of"], card["remix_of_creator"]) == (str(parent.id), parent.owner.username)


def _refused(auth_client, member, parent_id) -> tuple[int, str, str]:
    response = auth_client(member).post(
        "/api/v1/generations", {**ASK, "remix_of": str(parent_id)}, format="json"
    )
    error = response.json()["error"]
    return response.status_code, error["code"], error["fields"]["remix_of"][0]["code"]


def test_a_draft_cannot_be_remixed(auth_client):
    owner = UserFactory()
    draft = VideoFactory(owner=owner)
    assert _refused(auth_client, owner, draft.id) == (400, "remix_of_draft", "remix_of_draft")
    assert not Job.objects.exists()


def test_a_post_that_does_not_allow_remixes_cannot_be_remixed(auth_client):
    post = PostFactory(remix_allowed=False)
    assert _refused(auth_client, UserFactory(), post.id) == (403, "remix_not_allowed", "remix_not_allowed")
    assert not Job.objects.exists()


@pytest.mark.parametrize("direction", ["creator-blocked-member", "member-blocked-creator"])
def test_a_blocked_creators_post_does_not_exist_for_a_remix(auth_client, direction):
    post, member = PostFactory(), UserFactory()
    if direction == "creator-blocked-member":
        BlockFactory(blocker=post.owner, blocked=member)
    else:
        BlockFactory(blocker=member, blocked=post.owner)
    hidden = auth_client(member).post("/api/v1/generations", {**ASK, "remix_of": str(post.id)}, format="json")
    unknown = auth_client(member).post(
        "/api/v1/generations", {**ASK, "remix_of": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11"}, format="json"
    )
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "video_not_found")
    assert hidden.content == unknown.content
    assert not Job.objects.exists()


def test_a_removed_or_unposted_post_cannot_be_remixed(auth_client):
    removed, unposted = PostFactory(), PostFactory()
    video_remove(video_id=removed.id, by_id=None, reason="policy")
    auth_client(unposted.owner).post(f"/api/v1/videos/{unposted.id}/unpost")
    member = UserFactory()
    assert _refused(auth_client, member, removed.id)[:2] == (404, "video_not_found")
    assert _refused(auth_client, member, unposted.id)[:2] == (404, "video_not_found")


def test_posting_a_remix_counts_it_up_the_chain_and_tells_the_parents_creator(auth_client):
    # Given root <- parent, and a draft remix of the parent by Rae
    root = PostFactory()
    parent = PostFactory(parent=root)
    rae = UserFactory(username="rae")
    remix = VideoFactory(owner=rae, remix_of_id=parent.id, lineage=[root.id, parent.id], depth=2)
    client = auth_client(rae)

    # When Rae posts it: the parent counts a direct remix, both ancestors a descendant
    assert client.post(f"/api/v1/videos/{remix.id}/post").status_code == 200
    assert (counts(root), counts(parent)) == ((0, 1), (1, 1))
    (notice,) = NotificationGroup.objects.filter(recipient=parent.owner, type="remixed")
    assert (notice.target_id, notice.latest_actor_ids, notice.data["remix_id"]) == (
        parent.id,
        [rae.id],
        str(remix.id),
    )
    assert auth_client(parent.owner).get(f"/api/v1/videos/{parent.id}").json()["stats"]["remixes"] == 1
    assert not NotificationGroup.objects.filter(recipient=root.owner).exists()

    # Then unposting counts it out, posting again in, and deleting out for good
    client.post(f"/api/v1/videos/{remix.id}/unpost")
    assert (counts(root), counts(parent)) == ((0, 0), (0, 0))
    client.post(f"/api/v1/videos/{remix.id}/post")
    assert (counts(root), counts(parent)) == ((0, 1), (1, 1))
    assert client.delete(f"/api/v1/videos/{remix.id}").status_code == 204
    assert (counts(root), counts(parent)) == ((0, 0), (0, 0))


def test_a_takedown_counts_the_remix_out(auth_client):
    root = PostFactory()
    remix = VideoFactory(remix_of_id=root.id, lineage=[root.id], depth=1)
    auth_client(remix.owner).post(f"/api/v1/videos/{remix.id}/post")
    assert counts(root) == (1, 1)

    assert video_remove(video_id=remix.id, by_id=None, reason="policy") is True
    assert counts(root) == (0, 0)
    assert video_remove(video_id=remix.id, by_id=None, reason="again") is False  # once only
    assert counts(root) == (0, 0)


def test_the_attribution_goes_blank_when_the_parent_is_no_post_the_viewer_sees(auth_client):
    parent = PostFactory()
    remix = PostFactory(parent=parent)
    viewer = UserFactory()
    assert auth_client(viewer).get(f"/api/v1/videos/{remix.id}").json()["remix_of_creator"] == (
        parent.owner.username
    )
    BlockFactory(blocker=viewer, blocked=parent.owner)
    card = auth_client(viewer).get(f"/api/v1/videos/{remix.id}").json()
    assert (card["remix_of"], card["remix_of_creator"]) == (str(parent.id), None)


def test_a_takedown_stops_the_remixes_of_it_being_generated(auth_client, django_capture_on_commit_callbacks):
    # Given a post and a remix of it asked for, still queued (nothing ran yet)
    parent, fan = PostFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=False):
        asked = auth_client(fan).post(
            "/api/v1/generations", {**ASK, "remix_of": str(parent.id)}, format="json"
        )
    assert asked.status_code == 201

    # When a moderator takes the post down
    assert video_remove(video_id=parent.id, by_id=None, reason="policy")

    # Then the remix never starts: blocked with the reason, its unit given back
    job = Job.objects.get(id=asked.json()["id"])
    assert (job.state, job.error_code) == ("blocked", "remix_parent_removed")
    assert auth_client(fan).get("/api/v1/generations").json()["results"][0]["state"] == "blocked"
