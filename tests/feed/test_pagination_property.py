"""Cursor pagination never repeats nor skips a row while new rows arrive between page fetches.

Property (Hypothesis): whatever the rows (many sharing one `created_at`), the page size and how many
rows are added before each fetch, paging forward from the first page yields every row that existed at
the first fetch exactly once, newest first, and none of the rows added meanwhile (they are newer than
everything, so they belong before the first page).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.models import User
from feed.models import Video, VideoStats
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE = timezone.now() - timedelta(days=1)


def add_videos(owner: User, offsets: list[int], *, posted: bool = True, **fields: Any) -> list[Video]:
    """Videos made (and posted) `offset` seconds after BASE, in one INSERT; equal offsets, equal times."""
    videos = []
    for offset in offsets:
        at = BASE + timedelta(seconds=offset)
        state = {"state": Video.State.POSTED, "posted_at": at} if posted else {}
        videos.append(
            Video(
                owner=owner,
                created_at=at,
                prompt="p",
                width=256,
                height=448,
                duration_ms=1000,
                fps=8.0,
                has_audio=False,
                engine="test",
                **state,
                **fields,
            )
        )
    Video.objects.bulk_create(videos)
    VideoStats.objects.bulk_create([VideoStats(video=video) for video in videos])
    return videos


Adder = Callable[[list[int]], list[Video]]


def remixes_list(viewer: User) -> tuple[str, Adder]:
    original = PostFactory()
    remix = {"remix_of_id": original.id, "lineage": [original.id], "depth": 1}
    return f"/api/v1/videos/{original.id}/remixes", lambda offsets: add_videos(
        UserFactory(), offsets, **remix
    )


def drafts_list(viewer: User) -> tuple[str, Adder]:
    return "/api/v1/me/drafts", lambda offsets: add_videos(viewer, offsets, posted=False)


def profile_list(viewer: User) -> tuple[str, Adder]:
    member = UserFactory()
    return f"/api/v1/users/{member.username}/posts", lambda offsets: add_videos(member, offsets)


LISTS = {"remixes": remixes_list, "drafts": drafts_list, "profile-posts": profile_list}

rows = st.lists(st.integers(min_value=0, max_value=6), min_size=0, max_size=30)  # few distinct times
arrivals = st.lists(st.integers(min_value=0, max_value=4), min_size=0, max_size=12)


def page_through(client: Any, url: str, limit: int, arrive: Callable[[], None]) -> list[str]:
    seen: list[str] = []
    next_url: str | None = f"{url}?limit={limit}"
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.content[:300]
        page = response.json()
        seen += [row["id"] for row in page["results"]]
        next_url = page["next"]
        arrive()
    return seen


@pytest.mark.parametrize("listing", list(LISTS))
@settings(
    max_examples=25,
    deadline=None,
    # Each example makes its own rows in a savepoint it rolls back; the fixtures only make clients.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(initial=rows, limit=st.integers(min_value=1, max_value=7), arriving=arrivals)
# Found by this test: a first page whose rows all share one timestamp (any first page of one row) used to
# get a next cursor that counted rows from the top of the list, so a row arriving meanwhile pushed the
# page's last row onto the next page again (config.api.CursorPage now marks it by position).
@example(initial=[0, 0], limit=1, arriving=[1])
@example(initial=[3, 3, 3, 1], limit=3, arriving=[2, 2])
def test_paging_sees_each_existing_row_once_while_new_ones_arrive(
    auth_client, listing, initial, limit, arriving
):
    with transaction.atomic():
        # Given a list of rows, several of them created at the same instant
        viewer = UserFactory()
        url, add = LISTS[listing](viewer)
        existing = add(initial)
        expected = [str(v.id) for v in sorted(existing, key=lambda v: (v.created_at, v.id), reverse=True)]
        assert len(set(expected)) == len(initial)
        newer = iter(arriving)
        step = [0]

        def arrive() -> None:
            # Rows newer than everything arrive between two fetches
            step[0] += 1
            add([10 + step[0]] * next(newer, 0))

        # When the viewer pages through it while they arrive
        seen = page_through(auth_client(viewer), url, limit, arrive)

        # Then each row that was there at the first fetch comes exactly once, newest first
        assert seen == expected
        transaction.set_rollback(True)
