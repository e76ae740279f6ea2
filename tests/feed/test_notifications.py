"""Notifications through the API: grouped like Mastodon 4.3 (a burst of likes is one group with its
latest actors and the full list behind it), preferences, blocks, unread and read, the pushed event,
and the generation-finished notice from the worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.db.models import F
from django.utils import timezone

from accounts.models import Profile, User
from feed.models import NotificationGroup
from feed.notifications import notification_send
from feed.services import video_delete
from tests.factories import BlockFactory, PostFactory, UserFactory
from tests.test_asyncapi import document, envelope_errors

pytestmark = pytest.mark.django_db


def like(post: Any, liker: Any) -> Any:
    """What a like of `post` sends (the reactions API calls the same sender)."""
    return notification_send(
        recipient_id=post.owner_id, type="liked", actor_id=liker.id, target_kind="video", target_id=post.id
    )


def groups(client: Any, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/notifications{query}")
    assert response.status_code == 200, response.content[:300]
    return response.json()["results"]


def all_pages(client: Any, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while url:
        page = client.get(url).json()
        rows += page["results"]
        url = page["next"]
    return rows


def members(n: int) -> list[User]:
    """`n` members in two INSERTs (a factory per member would take most of the test's time)."""
    tag = uuid4().hex[:8]
    users = User.objects.bulk_create(
        User(username=f"fan{tag}{i}", email=f"fan{tag}{i}@example.com", birthdate="1990-01-01")
        for i in range(n)
    )
    Profile.objects.bulk_create(Profile(user=user, display_name=f"Fan {i}") for i, user in enumerate(users))
    return users


# --- grouping ------------------------------------------------------------------------------------


def test_a_burst_of_a_thousand_likes_is_one_group_with_its_latest_actors_and_the_full_list(auth_client):
    # Given a post liked by 1,000 members, one after another
    post = PostFactory()
    fans = members(1000)
    for fan in fans:
        like(post, fan)
    client = auth_client(post.owner)

    # When its owner reads the notifications, then it is one group of 1,000 showing the latest three
    (group,) = groups(client)
    assert (group["type"], group["count"], group["read"]) == ("liked", 1000, False)
    assert [actor["username"] for actor in group["latest_actors"]] == [f.username for f in fans[::-1][:3]]
    assert group["latest_actors"][0]["display_name"] == "Fan 999"
    assert group["target"] == {
        "kind": "video",
        "id": str(post.id),
        "video": {"id": str(post.id), "caption": post.caption},
    }
    assert NotificationGroup.objects.filter(recipient=post.owner).count() == 1

    # And the list of actors pages through all 1,000, newest first, each once
    actors = all_pages(client, group["actors_url"] + "?limit=100")
    assert [row["actor"]["username"] for row in actors] == [f.username for f in fans[::-1]]
    assert all(row["acted_at"] for row in actors)


def test_the_same_actor_counts_once_per_group(auth_client):
    post, fan = PostFactory(), UserFactory()
    like(post, fan)
    like(post, fan)  # liked, unliked, liked again: not news twice
    (group,) = groups(auth_client(post.owner))
    assert group["count"] == 1


@pytest.mark.parametrize(("kind", "target_kind"), [("mentioned", "video"), ("replied", "comment")])
def test_mentions_and_replies_are_never_grouped(auth_client, kind, target_kind):
    # Given one member mentioning (or replying to) another twice on the same target, and a third time
    # by someone else
    recipient, author, other = UserFactory.create_batch(3)
    target = uuid4()
    for actor in (author, author, other):
        notification_send(
            recipient_id=recipient.id, type=kind, actor_id=actor.id, target_kind=target_kind, target_id=target
        )
    # Then each is a group of its own
    listed = groups(auth_client(recipient))
    assert [(g["type"], g["count"]) for g in listed] == [(kind, 1)] * 3
    assert [g["latest_actors"][0]["id"] for g in listed] == [str(other.id), str(author.id), str(author.id)]


def test_a_group_closes_once_the_window_has_passed_since_it_started(auth_client, settings):
    # Given a group of likes that started longer ago than the window
    settings.FEED_NOTIFICATION_GROUP_WINDOW_S = 60
    post = PostFactory()
    first, second, third = UserFactory.create_batch(3)
    old = like(post, first)
    started = timezone.now() - timedelta(seconds=61)
    NotificationGroup.objects.filter(id=old).update(created_at=started, updated_at=started)

    # When two more likes come, then they start a new group, and the old one keeps its count
    new = like(post, second)
    assert like(post, third) == new != old
    listed = groups(auth_client(post.owner))
    assert [(g["id"], g["count"]) for g in listed] == [(str(new), 2), (str(old), 1)]


def test_a_group_started_just_before_a_window_boundary_keeps_collecting_after_it(settings):
    # Given a group that started seconds ago, in the previous slice of the clock (its key names it)
    settings.FEED_NOTIFICATION_GROUP_WINDOW_S = 3600
    post = PostFactory()
    first, second = UserFactory.create_batch(2)
    group_id = like(post, first)
    slice_before = int(timezone.now().timestamp() // 3600) - 1
    NotificationGroup.objects.filter(id=group_id).update(
        group_key=f"liked:video:{post.id}:{slice_before}", created_at=F("created_at") - timedelta(seconds=5)
    )
    # When another like comes, then it joins that group rather than starting one at the boundary
    assert like(post, second) == group_id
    assert NotificationGroup.objects.get(id=group_id).count == 2


def test_new_activity_brings_a_read_group_back_to_the_top_unread(auth_client):
    owner = UserFactory()
    older, newer = PostFactory(owner=owner), PostFactory(owner=owner)
    first = like(older, UserFactory())
    second = like(newer, UserFactory())
    client = auth_client(owner)
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 2}

    like(older, UserFactory())

    listed = groups(client)
    assert [(g["id"], g["count"], g["read"]) for g in listed] == [
        (str(first), 2, False),
        (str(second), 1, True),
    ]
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 1}


def test_the_list_is_a_cursor_page_and_filters_by_type(auth_client):
    owner = UserFactory()
    for _ in range(3):
        like(PostFactory(owner=owner), UserFactory())
    follower = UserFactory()
    assert auth_client(follower).post(f"/api/v1/users/{owner.username}/follow").status_code == 201
    client = auth_client(owner)

    page = client.get("/api/v1/notifications?limit=2").json()
    assert [g["type"] for g in page["results"]] == ["followed", "liked"]
    assert len(all_pages(client, "/api/v1/notifications?limit=2")) == 4

    (followed,) = groups(client, "?types=followed,mentioned")
    assert followed["latest_actors"][0]["username"] == follower.username
    assert followed["target"] == {"kind": "user", "id": str(owner.id), "video": None}
    assert len(groups(client, "?types=liked")) == 3

    refused = client.get("/api/v1/notifications?types=liked,bogus")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_input"
    assert refused.json()["error"]["fields"]["types"][0]["code"] == "invalid_choice"


def test_a_target_that_is_gone_has_no_summary(auth_client):
    post = PostFactory(caption="x" * 300)
    like(post, UserFactory())
    client = auth_client(post.owner)
    assert groups(client)[0]["target"]["video"] == {"id": str(post.id), "caption": "x" * 100}

    video_delete(owner_id=post.owner_id, video_id=post.id)

    assert groups(client)[0]["target"] == {"kind": "video", "id": str(post.id), "video": None}


# --- preferences and the live event --------------------------------------------------------------


def test_preferences_default_to_push_and_change_per_type(auth_client):
    client = auth_client(UserFactory())
    everything = client.get("/api/v1/notifications/preferences").json()
    assert set(everything) == set(NotificationGroup.Type.values)
    assert set(everything.values()) == {"push"}

    changed = client.put(
        "/api/v1/notifications/preferences", {"liked": "off", "followed": "in_app"}, format="json"
    )

    assert changed.status_code == 200
    assert changed.json() == {**everything, "liked": "off", "followed": "in_app"}
    again = client.put("/api/v1/notifications/preferences", {"liked": "push"}, format="json").json()
    assert again == {**everything, "followed": "in_app"}
    assert client.get("/api/v1/notifications/preferences").json() == again


@pytest.mark.parametrize(
    ("body", "field", "code", "error"),
    [
        pytest.param({"likes": "off"}, "likes", "unknown_field", "invalid_input", id="unknown-type"),
        pytest.param({"liked": "loud"}, "liked", "invalid_choice", "invalid_input", id="unknown-mode"),
        pytest.param({"liked": None}, "liked", "null", "invalid_input", id="null-mode"),
        pytest.param({"liked": 0}, "liked", "invalid", "invalid_input", id="number-mode"),
        pytest.param(["liked"], "non_field_errors", "invalid", "invalid_input", id="not-an-object"),
    ],
)
def test_preferences_refuse_unknown_types_and_modes(auth_client, body, field, code, error):
    client = auth_client(UserFactory())
    response = client.put("/api/v1/notifications/preferences", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == error
    assert [problem["code"] for problem in response.json()["error"]["fields"][field]] == [code]
    assert set(client.get("/api/v1/notifications/preferences").json().values()) == {"push"}


@pytest.mark.parametrize(
    ("mode", "stored", "pushed"),
    [("off", False, False), ("in_app", True, False), ("push", True, True)],
)
def test_the_preference_decides_what_is_stored_and_what_is_pushed(
    auth_client, listen, django_capture_on_commit_callbacks, mode, stored, pushed
):
    # Given a member who chose `mode` for new followers, listening on their socket
    member, fan = UserFactory(), UserFactory()
    client = auth_client(member)
    client.put("/api/v1/notifications/preferences", {"followed": mode}, format="json")
    heard = listen(member.id)

    # When someone follows them
    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client(fan).post(f"/api/v1/users/{member.username}/follow").status_code == 201

    # Then it is listed (or not) and pushed (or not)
    assert len(groups(client)) == int(stored)
    events = [event for event in heard() if event["type"] == "notification.created"]
    assert len(events) == int(pushed)
    if pushed:
        (group,) = groups(client)
        assert events[0]["data"] == {
            "id": group["id"],
            "type": "followed",
            "count": 1,
            "target": {"kind": "user", "id": str(member.id)},
            "actor_id": str(fan.id),
            "data": {},
        }
        assert envelope_errors(document(), events[0]) == []


# --- blocks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who_blocks", ["recipient", "actor"])
def test_a_block_either_way_suppresses_notifications(auth_client, who_blocks):
    post, fan = PostFactory(), UserFactory()
    if who_blocks == "recipient":
        BlockFactory(blocker=post.owner, blocked=fan)
    else:
        BlockFactory(blocker=fan, blocked=post.owner)

    assert like(post, fan) is None
    assert groups(auth_client(post.owner)) == []
    assert not NotificationGroup.objects.filter(recipient=post.owner).exists()


@pytest.mark.parametrize("who_blocks", ["recipient", "actor"])
def test_actors_blocked_later_are_left_out_when_read(auth_client, who_blocks):
    # Given a group of three likes and a lone like of another post
    owner = UserFactory()
    post, other_post = PostFactory(owner=owner), PostFactory(owner=owner)
    first, blocked, last = UserFactory.create_batch(3)
    for fan in (first, blocked, last):
        group_id = like(post, fan)
    like(other_post, blocked)
    client = auth_client(owner)
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 2}

    # When one of the likers and the owner come to block each other
    if who_blocks == "recipient":
        BlockFactory(blocker=owner, blocked=blocked)
    else:
        BlockFactory(blocker=blocked, blocked=owner)

    # Then they are gone from the latest actors and the list, and the group with only them is hidden
    (group,) = groups(client)
    assert group["id"] == str(group_id)
    assert [a["username"] for a in group["latest_actors"]] == [last.username, first.username]
    actors = all_pages(client, group["actors_url"])
    assert [row["actor"]["username"] for row in actors] == [last.username, first.username]
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 1}
    hidden = NotificationGroup.objects.exclude(id=group_id).get(recipient=owner)
    assert client.get(f"/api/v1/notifications/{hidden.id}/actors").status_code == 404


# --- unread and read -----------------------------------------------------------------------------


def test_unread_count_and_marking_one_or_all_read(auth_client):
    owner = UserFactory()
    first, second, third = (like(PostFactory(owner=owner), UserFactory()) for _ in range(3))
    client = auth_client(owner)
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 3}

    assert client.post(f"/api/v1/notifications/{second}/read").status_code == 204
    assert client.post(f"/api/v1/notifications/{second}/read").status_code == 204  # again: harmless

    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 2}
    assert {g["id"]: g["read"] for g in groups(client)} == {
        str(first): False,
        str(second): True,
        str(third): False,
    }
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 2}
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 0}
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 0}


def test_another_members_group_is_not_found(auth_client):
    post = PostFactory()
    group_id = like(post, UserFactory())
    stranger = auth_client(UserFactory())

    for response in (
        stranger.post(f"/api/v1/notifications/{group_id}/read"),
        stranger.get(f"/api/v1/notifications/{group_id}/actors"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "notification_not_found"
    assert stranger.post("/api/v1/notifications/read-all").json() == {"marked": 0}
    assert NotificationGroup.objects.get(id=group_id).read_at is None
    assert stranger.get("/api/v1/notifications").json()["results"] == []


# --- a finished generation -----------------------------------------------------------------------


@pytest.fixture
def fake_engine(settings):
    from generation import engines
    from tests.generation.fakes import FakeEngine

    settings.GENERATION_STAGE_BACKOFF_S = 0
    engine = FakeEngine()
    engines.engine_install(engine)
    yield engine
    engines.engine_install(None)


def test_a_finished_generation_notifies_its_owner_once(
    auth_client, fake_engine, listen, django_capture_on_commit_callbacks
):
    from generation.models import Job
    from generation.pipeline import job_execute

    # Given a member who asked for a clip
    member = UserFactory()
    client = auth_client(member)
    with django_capture_on_commit_callbacks(execute=False):
        asked = client.post(
            "/api/v1/generations", {"prompt": "a red ball bouncing", "duration_s": 4}, format="json"
        )
    assert asked.status_code == 201, asked.content[:300]
    heard = listen(member.id)

    # When a worker runs the job to its draft (and a late duplicate delivery runs it again)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_execute(job_id=asked.json()["id"]).state == "succeeded"
    job_execute(job_id=asked.json()["id"])

    # Then the member has one notification about the draft, pushed live too
    job = Job.objects.get(id=asked.json()["id"])
    (group,) = groups(client)
    assert (group["type"], group["count"], group["latest_actors"]) == ("generation_finished", 1, [])
    assert group["target"] == {
        "kind": "video",
        "id": str(job.video_id),
        "video": {"id": str(job.video_id), "caption": ""},
    }
    assert group["data"] == {"job_id": str(job.id)}
    assert client.get(group["actors_url"]).json()["results"] == []
    pushed = [event for event in heard() if event["type"] == "notification.created"]
    assert [event["data"]["id"] for event in pushed] == [group["id"]]
    assert envelope_errors(document(), pushed[0]) == []
