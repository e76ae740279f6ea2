"""`GET|PUT /api/v1/feed/topics`: a member's cold-start topics."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_member_reads_and_sets_their_topics(auth_client):
    member = auth_client(UserFactory())
    assert member.get("/api/v1/feed/topics").json() == {"topics": []}

    changed = member.put("/api/v1/feed/topics", {"topics": [" Knitting ", "knitting", "jazz"]}, format="json")

    assert changed.status_code == 200
    assert changed.json() == {"topics": ["Knitting", "jazz"]}
    assert member.get("/api/v1/feed/topics").json() == {"topics": ["Knitting", "jazz"]}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"topics": ["x" * 41]}, "feed_topics_invalid"),
        ({"topics": ["  "]}, "feed_topics_invalid"),
        ({"topics": ["\u200b"]}, "feed_topics_invalid"),
        ({"topics": [f"t{i}" for i in range(11)]}, "feed_topics_invalid"),
        ({"topics": "cooking"}, "invalid_input"),
        ({"topics": [], "extra": 1}, "invalid_input"),
    ],
    ids=["too-long", "blank", "no-word", "too-many", "not-a-list", "unknown-field"],
)
def test_bad_topics_get_a_stable_code(auth_client, body, code):
    response = auth_client(UserFactory()).put("/api/v1/feed/topics", body, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)
