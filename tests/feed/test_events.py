"""Client events (`POST /api/v1/events`): validated whole, deduplicated by the client's ids, stored
only about videos the member may see, folded into the counters (one view, one share and the
window's length of watching per member, video and window), a constant number of queries per batch,
pruned by time."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.module_loading import import_string

from feed.events import WATCH_MS_MAX, EventIn, view_events_ingest, view_events_prune
from feed.models import Video, VideoStats, ViewEvent
from tests.factories import BlockFactory, PostFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/events"


def event(video: Any, kind: str = "impression", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": fields.pop("id", uuid4().hex),
        "type": kind,
        "video_id": str(getattr(video, "id", video)),
        "at": fields.pop("at", timezone.now().isoformat()),
    }
    if kind == "watch_progress":
        body["watch_ms"] = fields.pop("watch_ms", 1000)
    return body | fields


def send(client: Any, events: list[dict[str, Any]]) -> Any:
    return client.post(URL, {"events": events}, format="json")


def stats(video: Video) -> tuple[int, int, int]:
    row = VideoStats.objects.get(video=video)
    return row.views, row.watch_ms, row.shares


# --- accepted, deduplicated -----------------------------------------------------------------


def test_a_batch_is_stored_as_sent(auth_client):
    # Given a member and a post
    member, post = UserFactory(), PostFactory()
    at = timezone.now() - timedelta(minutes=5)
    batch = [
        event(post, "impression", id="imp-1", at=at.isoformat()),
        event(post, "view_start", id="view-1", at=at.isoformat()),
        event(post, "watch_progress", id="watch-1", watch_ms=2500, at=at.isoformat()),
    ]
    # When they send a batch about it
    response = send(auth_client(member), batch)
    # Then every event is stored, with the member, the kind, the time and the watch time
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 3, "duplicates": 0, "ignored": 0}
    rows = ViewEvent.objects.filter(user_id=member.id).order_by("client_event_id")
    assert [(r.client_event_id, r.kind, r.watch_ms, r.video_id) for r in rows] == [
        ("imp-1", "impression", 0, post.id),
        ("view-1", "view_start", 0, post.id),
        ("watch-1", "watch_progress", 2500, post.id),
    ]
    assert all(r.occurred_at == at and r.received_at >= at for r in rows)


def test_the_same_batch_twice_is_stored_and_counted_once(auth_client):
    # Given a batch already sent
    member, post = UserFactory(), PostFactory()
    client = auth_client(member)
    batch = [event(post, "view_start"), event(post, "watch_progress", watch_ms=3000), event(post, "share")]
    assert send(client, batch).json() == {"accepted": 3, "duplicates": 0, "ignored": 0}
    # When the client sends it again (its answer was lost)
    response = send(client, batch)
    # Then nothing new is stored or counted
    assert response.json() == {"accepted": 0, "duplicates": 3, "ignored": 0}
    assert ViewEvent.objects.filter(user_id=member.id).count() == 3
    assert stats(post) == (1, 3000, 1)


def test_an_id_repeated_in_one_batch_is_one_event(auth_client):
    member, post = UserFactory(), PostFactory()
    batch = [event(post, "watch_progress", id="same", watch_ms=100), event(post, "skip", id="same")]
    response = send(auth_client(member), batch)
    assert response.json() == {"accepted": 1, "duplicates": 1, "ignored": 0}
    assert list(ViewEvent.objects.values_list("kind", flat=True)) == ["watch_progress"]  # the first


def test_ids_are_per_member(auth_client):
    post = PostFactory()
    for member in UserFactory.create_batch(2):
        assert send(auth_client(member), [event(post, id="e1")]).json()["accepted"] == 1


# --- refused: the whole batch, each problem under its event's index ----------------------------


def refused(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    return {field: [p["code"] for p in problems] for field, problems in body["fields"].items()}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        pytest.param({"type": "watched"}, "type", "invalid_choice", id="unknown-type"),
        pytest.param({"type": 3}, "type", "invalid", id="type-not-text"),
        pytest.param({"id": ""}, "id", "blank", id="id-blank"),
        pytest.param({"id": "x" * 65}, "id", "max_length", id="id-too-long"),
        pytest.param({"id": "a\x00b"}, "id", "invalid", id="id-with-nul"),
        pytest.param({"id": "ok\n"}, "id", "invalid", id="id-with-newline"),
        pytest.param({"id": "é"}, "id", "invalid", id="id-not-ascii"),
        pytest.param({"id": 12}, "id", "invalid", id="id-a-number"),
        pytest.param({"video_id": "not-a-uuid"}, "video_id", "invalid", id="video-id-not-a-uuid"),
        pytest.param({"video_id": None}, "video_id", "invalid", id="video-id-null"),
        pytest.param({"video_id": ["x"]}, "video_id", "invalid", id="video-id-a-list"),
        pytest.param({"at": "2025-05-01T12:00:00"}, "at", "invalid", id="at-naive"),
        pytest.param({"at": "yesterday"}, "at", "invalid", id="at-garbage"),
        pytest.param({"at": "0000-01-01T00:00:00Z"}, "at", "invalid", id="at-year-0"),
        pytest.param({"at": "2025-05-01T12:00:00\x00Z"}, "at", "invalid", id="at-with-nul"),
        pytest.param({"at": 1714564800}, "at", "invalid", id="at-a-number"),
        pytest.param({"at": "2025-05-01X12:00:00Z"}, "at", "invalid", id="at-odd-separator"),
        pytest.param({"at": "2025-05-01T12:00Z"}, "at", "invalid", id="at-without-seconds"),
        pytest.param({"at": "2025-02-30T12:00:00Z"}, "at", "invalid", id="at-no-such-day"),
        pytest.param({"at": "2025-05-01T12:00:00+24:00"}, "at", "invalid", id="at-no-such-offset"),
        pytest.param({"watch_ms": 5}, "watch_ms", "invalid", id="watch-ms-on-an-impression"),
        pytest.param({"colour": "red"}, "colour", "unknown_field", id="unknown-field"),
    ],
)
def test_an_invalid_event_refuses_the_batch_and_names_its_index(auth_client, change, field, code):
    # Given a batch whose second event is invalid
    member, post = UserFactory(), PostFactory()
    batch = [event(post), event(post) | change, event(post)]
    # When it is sent
    problems = refused(send(auth_client(member), batch))
    # Then the answer names that event and field, and nothing is stored (not even the valid ones)
    assert problems == {f"events[1].{field}": [code]}
    assert not ViewEvent.objects.exists()


@pytest.mark.parametrize(
    ("watch_ms", "code"),
    [
        pytest.param(-1, "min_value", id="negative"),
        pytest.param(WATCH_MS_MAX + 1, "max_value", id="over-ten-minutes"),
        pytest.param(10**400, "max_value", id="huge"),
        pytest.param(1.5, "invalid", id="fraction"),
        pytest.param(True, "invalid", id="boolean"),
        pytest.param("100", "invalid", id="text"),
    ],
)
def test_watch_time_is_a_bounded_whole_number(auth_client, watch_ms, code):
    post = PostFactory()
    problems = refused(send(auth_client(UserFactory()), [event(post, "watch_progress", watch_ms=watch_ms)]))
    assert problems == {"events[0].watch_ms": [code]}


def test_every_problem_is_reported_at_once(auth_client):
    post = PostFactory()
    batch = [{"type": "watch_progress"}, "an event", event(post), event(post, "skip", id="bad id")]
    problems = refused(send(auth_client(UserFactory()), batch))
    assert problems == {
        "events[0].id": ["required"],
        "events[0].video_id": ["required"],
        "events[0].at": ["required"],
        "events[0].watch_ms": ["required"],
        "events[1]": ["invalid"],
        "events[3].id": ["invalid"],
    }


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        pytest.param({}, {"events": ["required"]}, id="no-events"),
        pytest.param({"events": []}, {"events": ["empty"]}, id="empty"),
        pytest.param({"events": {"id": "x"}}, {"events": ["not_a_list"]}, id="not-a-list"),
        pytest.param(
            {"events": [], "batch": 1}, {"events": ["empty"], "batch": ["unknown_field"]}, id="extra"
        ),
        pytest.param([{"events": []}], {"non_field_errors": ["invalid"]}, id="body-a-list"),
    ],
)
def test_a_body_without_a_list_of_events_is_refused(auth_client, body, problems):
    response = auth_client(UserFactory()).post(URL, body, format="json")
    assert refused(response) == problems
    assert response.json()["error"]["code"] == "invalid_input"


def test_more_than_500_events_is_its_own_code_and_500_of_the_longest_fit_the_body_limit(auth_client):
    # Given 501 events with the longest ids and times a client may send
    member, post = UserFactory(), PostFactory()
    at = timezone.now().isoformat(timespec="microseconds")  # 32 characters, as long as a time gets
    batch = [event(post, "watch_progress", id=f"{n:064d}", watch_ms=WATCH_MS_MAX, at=at) for n in range(501)]
    client = auth_client(member)
    # When all 501 are sent, then the batch is refused as too large
    response = send(client, batch)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "events_batch_too_large"
    assert [p["code"] for p in response.json()["error"]["fields"]["events"]] == ["events_batch_too_large"]
    # And 500 of them fit the JSON body limit (with room to spare) and are all taken
    assert len(json.dumps({"events": batch[:500]})) < settings.API_MAX_JSON_BYTES / 2
    assert send(client, batch[:500]).json() == {"accepted": 500, "duplicates": 0, "ignored": 0}


def test_only_json_is_taken(auth_client):
    response = auth_client(UserFactory()).post(URL, {"events": "x"}, format="multipart")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_the_service_stores_any_text_it_is_given_as_is():
    # The API lets only [A-Za-z0-9_-] through; the service does not rely on it.
    member, post = UserFactory(), PostFactory()
    odd = ['a"b', "c\\d", "e,f}", "NULL", " g "]
    events = [EventIn(name, "skip", post.id, timezone.now()) for name in odd]
    assert view_events_ingest(user_id=member.id, events=events).accepted == 5
    assert sorted(ViewEvent.objects.values_list("client_event_id", flat=True)) == sorted(odd)


# --- what the member may not see is ignored --------------------------------------------------


def test_events_about_videos_the_member_may_not_see_are_ignored(auth_client):
    # Given posts and drafts, some hidden from the member
    member = UserFactory()
    blocked_by_member, blocking_member = UserFactory(), UserFactory()
    BlockFactory(blocker=member, blocked=blocked_by_member)
    BlockFactory(blocker=blocking_member, blocked=member)
    visible = [PostFactory(), VideoFactory(owner=member)]  # a post, and the member's own draft
    hidden = [
        VideoFactory(),  # someone else's draft
        PostFactory(owner=blocked_by_member),
        PostFactory(owner=blocking_member),
        PostFactory(state=Video.State.REMOVED, removed_at=timezone.now()),
        uuid4(),  # no such video
    ]
    batch = [event(video, "view_start") for video in [*visible, *hidden]]
    # When the member sends events about all of them
    response = send(auth_client(member), batch)
    # Then only the visible ones are stored and counted
    assert response.json() == {"accepted": 2, "duplicates": 0, "ignored": 5}
    assert set(ViewEvent.objects.values_list("video_id", flat=True)) == {v.id for v in visible}
    assert [stats(v)[0] for v in visible] == [1, 1]
    assert [stats(v)[0] for v in hidden if isinstance(v, Video)] == [0, 0, 0, 0]


def test_times_are_read_with_their_offset_and_nanoseconds_cut(auth_client):
    member, post = UserFactory(), PostFactory()
    day = (timezone.now() - timedelta(days=1)).date().isoformat()
    batch = [
        event(post, id="offset", at=f"{day}T14:00:00+02:00"),
        event(post, id="nanos", at=f"{day}t12:00:00.123456789z"),
    ]
    assert send(auth_client(member), batch).json()["accepted"] == 2
    rows = {r.client_event_id: r.occurred_at.isoformat() for r in ViewEvent.objects.all()}
    assert rows == {"offset": f"{day}T12:00:00+00:00", "nanos": f"{day}T12:00:00.123456+00:00"}


def test_times_ahead_are_now_and_times_past_the_retention_are_ignored(auth_client):
    # Given events dated in the future, at the calendar's edges and before the retention
    member, post = UserFactory(), PostFactory()
    before = timezone.now()
    old = before - timedelta(days=settings.FEED_EVENTS_RETENTION_DAYS, minutes=1)
    batch = [
        event(post, id="future", at=(before + timedelta(days=3)).isoformat()),
        event(post, id="year-9999", at="9999-12-31T23:59:59-23:00"),
        event(post, id="year-1", at="0001-01-01T00:00:00+01:00"),
        event(post, id="too-old", at=old.isoformat()),
        event(post, id="kept", at=(old + timedelta(minutes=2)).isoformat()),
    ]
    # When they are sent
    response = send(auth_client(member), batch)
    # Then those ahead are stored as received, the too old ones are ignored
    assert response.json() == {"accepted": 3, "duplicates": 0, "ignored": 2}
    rows = {r.client_event_id: r for r in ViewEvent.objects.all()}
    assert set(rows) == {"future", "year-9999", "kept"}
    for name in ("future", "year-9999"):
        assert rows[name].occurred_at == rows[name].received_at >= before


# --- counters ---------------------------------------------------------------------------------


def test_views_watch_time_and_shares_are_counted_and_nothing_else(auth_client):
    # Given two posts and a member
    member, first, second = UserFactory(), PostFactory(), PostFactory()
    batch = [
        event(first, "view_start"),
        event(first, "watch_progress", watch_ms=4000),
        event(first, "watch_progress", watch_ms=1500),
        event(first, "share"),
        event(second, "view_start"),
        *(event(second, kind) for kind in ("impression", "like", "skip", "see_less")),
    ]
    # When one batch reports them
    assert send(auth_client(member), batch).json()["accepted"] == 9
    # Then the counters hold the views, the summed watch time and the shares (likes have their own API)
    assert stats(first) == (1, 5500, 1)
    assert stats(second) == (1, 0, 0)
    assert VideoStats.objects.get(video=second).likes == 0


def test_a_member_replaying_events_under_new_ids_counts_once_per_window(auth_client, settings):
    # Given a one-second counting window and a member who viewed and shared a post
    settings.FEED_EVENTS_COUNT_WINDOW_S = 1
    member, post = UserFactory(), PostFactory()
    client = auth_client(member)
    send(
        client, [event(post, "view_start"), event(post, "share"), event(post, "watch_progress", watch_ms=600)]
    )
    # When they send more views, shares and watch time under fresh ids within the window
    again = [event(post, "view_start") for _ in range(3)] + [event(post, "share")]
    again += [event(post, "watch_progress", watch_ms=300) for _ in range(2)]
    assert send(client, again).json()["accepted"] == 6
    # Then the events are stored but the counters keep one view, one share, one second of watching
    assert ViewEvent.objects.filter(user_id=member.id).count() == 9
    assert stats(post) == (1, 1000, 1)
    # And once the window has passed, they count again
    time.sleep(1.2)
    send(client, [event(post, "view_start"), event(post, "view_start"), event(post, "share")])
    assert stats(post) == (2, 1000, 2)


def test_without_redis_events_are_stored_and_each_batch_counts_once(auth_client, settings, caplog):
    # Given Redis, which keeps the counting window, out of reach
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    member, post = UserFactory(), PostFactory()
    client = auth_client(member)
    # When a member sends two batches of views and watch time
    for _ in range(2):
        batch = [
            event(post, "view_start"),
            event(post, "view_start"),
            event(post, "watch_progress", watch_ms=500),
        ]
        assert send(client, batch).json()["accepted"] == 3
    # Then every event is stored, each batch counts one view, and the outage is logged
    assert ViewEvent.objects.count() == 6
    assert stats(post) == (2, 1000, 0)
    assert "feed.events_window_unavailable" in caplog.messages


def test_other_members_views_count_each(auth_client):
    post = PostFactory()
    for member in UserFactory.create_batch(3):
        send(auth_client(member), [event(post, "view_start")])
    assert stats(post)[0] == 3


# --- cost ----------------------------------------------------------------------------------


def test_a_batch_costs_the_same_queries_for_1_event_as_for_500(auth_client):
    # Given a member and 50 posts
    member, posts = UserFactory(), PostFactory.create_batch(50)
    client = auth_client(member)
    kinds = ("view_start", "watch_progress", "share", "impression", "like", "skip", "see_less")

    def queries(size: int) -> int:
        batch = [event(posts[n % 50], kinds[n % len(kinds)]) for n in range(size)]
        with CaptureQueriesContext(connection) as captured:
            assert send(client, batch).json()["accepted"] == size
        return len(captured)

    # When it sends one event, then 500 about all 50 posts, then the count is the same
    assert queries(1) == queries(500)


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_on_the_same_videos_in_opposite_orders_all_count(auth_client):
    # Given 3 posts and 8 members whose batches name them in different orders (no deadlock)
    posts = PostFactory.create_batch(3)
    members = UserFactory.create_batch(8)
    failures: list[Any] = []

    def report(index: int) -> None:
        try:
            ordered = posts if index % 2 else posts[::-1]
            batch = [event(p, kind) for p in ordered for kind in ("view_start", "watch_progress")]
            response = send(auth_client(members[index]), batch)
            if response.status_code != 200:
                failures.append(response.content)
        except Exception as exc:  # a thread's error must reach the test
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=report, args=(i,)) for i in range(8)]
    # When all send at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every batch went through and every view and second counted
    assert failures == []
    assert [stats(p) for p in posts] == [(8, 8000, 0)] * 3


# --- pruning --------------------------------------------------------------------------------


def test_pruning_deletes_events_received_before_the_retention_in_batches(auth_client):
    # Given 5 events received before the retention and 2 since
    member, post = UserFactory(), PostFactory()
    send(auth_client(member), [event(post, id=f"e{n}") for n in range(7)])
    retention = timedelta(days=settings.FEED_EVENTS_RETENTION_DAYS)
    past = timezone.now() - retention - timedelta(hours=1)
    ViewEvent.objects.filter(client_event_id__in=[f"e{n}" for n in range(5)]).update(received_at=past)
    ViewEvent.objects.filter(client_event_id="e5").update(
        received_at=timezone.now() - retention + timedelta(hours=1)
    )
    # When the periodic pruning runs, two rows per statement
    assert view_events_prune(batch_size=2) == 5
    # Then only the events since the retention stay, and a second run finds nothing
    assert sorted(ViewEvent.objects.values_list("client_event_id", flat=True)) == ["e5", "e6"]
    assert view_events_prune() == 0


def test_pruning_stops_after_its_batches_and_goes_on_next_time(auth_client):
    member, post = UserFactory(), PostFactory()
    send(auth_client(member), [event(post) for _ in range(5)])
    ViewEvent.objects.update(
        received_at=timezone.now() - timedelta(days=settings.FEED_EVENTS_RETENTION_DAYS + 1)
    )
    assert view_events_prune(batch_size=2, max_batches=2) == 4
    assert view_events_prune(batch_size=2, max_batches=2) == 1
    assert not ViewEvent.objects.exists()


def test_every_worker_prunes_hourly():
    paths = [path for path in settings.WORKER_PERIODIC if import_string(path) is view_events_prune]
    assert [settings.WORKER_PERIODIC[path] for path in paths] == [3600]
