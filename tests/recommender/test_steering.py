"""Steering in plain words (`PUT|GET|DELETE /api/v1/feed/steer`) and "see less like this" (the
`see_less` view event): what the feed reads through `steer_terms`."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import numpy as np
import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from accounts.public import export_parts
from recommender.models import CheckIn, Impression, SeeLess, SteerClause, Steering, VideoVector
from recommender.steering import NO_TERMS, Clause, clauses_parse, steer_terms
from recommender.vectors import content_embed
from tests.factories import PASSWORD, BlockFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/feed/steer"


def indexed(post: Any, text: str) -> np.ndarray:
    """Give `post` the vector row R1's task would: its content vector from `text`."""
    vector = content_embed([text])[0]
    VideoVector.objects.create(
        video_id=post.id,
        creator_id=post.owner_id,
        posted_at=timezone.now(),
        content=vector.tolist(),
        vector=vector.tolist(),
        in_feeds=True,
    )
    return vector


def see_less(client: Any, post: Any, event_id: str | None = None) -> Any:
    at = timezone.now().isoformat()
    event = {"id": event_id or uuid4().hex, "type": "see_less", "video_id": str(post.id), "at": at}
    return client.post("/api/v1/events", {"events": [event]}, format="json")


# --- the instruction's clauses ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("more cooking, less horror", [Clause("cooking", "toward"), Clause("horror", "away")]),
        ("less horror and more cooking", [Clause("horror", "away"), Clause("cooking", "toward")]),
        ("cats and dogs", [Clause("cats and dogs", "toward")]),
        ("no more jump scares; only space", [Clause("jump scares", "away"), Clause("space", "toward")]),
        ("Show me baking but not politics", [Clause("baking", "toward"), Clause("politics", "away")]),
        ("fewer of the pranks", [Clause("the pranks", "away")]),
        ("more, less", []),
        ("cooking, Cooking", [Clause("cooking", "toward")]),
    ],
    ids=[
        "toward-away",
        "away-toward",
        "and-stays",
        "no-more",
        "but-not",
        "fewer-of",
        "markers-only",
        "dedupe",
    ],
)
def test_an_instruction_is_cut_into_clauses(text, clauses):
    assert clauses_parse(text) == clauses


# --- PUT / GET / DELETE -------------------------------------------------------------------------


def test_an_instruction_steers_the_next_page_toward_it_and_away(auth_client):
    # Given a member
    member = UserFactory()
    client = auth_client(member)

    # When they steer in plain words
    response = client.put(URL, {"text": "more cooking, less horror"}, format="json")

    # Then the state shows both clauses, and the feed's terms rank cooking over horror
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["text"] == "more cooking, less horror"
    assert [(c["text"], c["direction"], c["source"]) for c in body["clauses"]] == [
        ("cooking", "toward", "instruction"),
        ("horror", "away", "instruction"),
    ]
    assert client.get(URL).json() == body
    terms = steer_terms(member.id)
    assert terms.active
    assert len(terms.queries) == 1
    assert len(terms.away) == 1
    assert terms.toward is not None
    assert abs(float(np.linalg.norm(terms.toward)) - 1) < 1e-3
    candidates = content_embed(
        [
            "a chef cooking pasta in a home kitchen",
            "a horror movie scene with a ghost in a dark hallway",
            "a skateboarder in a city park",
        ]
    )
    cooking, horror, other = terms.rerank(candidates)
    assert cooking > other > horror


def test_a_new_instruction_replaces_the_old_one(auth_client):
    member = UserFactory()
    client = auth_client(member)
    client.put(URL, {"text": "more cooking"}, format="json")
    body = client.put(URL, {"text": "more football"}, format="json").json()
    assert [c["text"] for c in body["clauses"]] == ["football"]
    assert SteerClause.objects.filter(user_id=member.id).count() == 1


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"text": "more, less"}, "steer_empty"),
        ({"text": "-"}, "steer_empty"),
        ({"text": "less \u200b"}, "steer_empty"),
        ({"text": "   "}, "invalid_input"),
        ({"text": "x" * 201}, "invalid_input"),
        ({"text": 5}, "invalid_input"),
        ({}, "invalid_input"),
        ({"text": "more cats", "mood": "happy"}, "unknown_field"),
    ],
    ids=[
        "markers-only",
        "punctuation-only",
        "zero-width-only",
        "blank",
        "too-long",
        "not-text",
        "missing",
        "unknown-field",
    ],
)
def test_a_bad_instruction_is_a_400_with_its_code(auth_client, payload, code):
    response = auth_client(UserFactory()).put(URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert code in str(response.json())


def test_the_feed_cannot_be_steered_toward_what_the_policy_refuses_but_away_from_it(auth_client):
    client = auth_client(UserFactory())
    toward = {"text": "more men being tortured and their fingers cut off one by one with blood everywhere"}
    refused = client.put(URL, toward, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "text_refused"
    away = {"text": "less men being tortured and their fingers cut off one by one with blood everywhere"}
    assert client.put(URL, away, format="json").status_code == 200


def test_reset_drops_instruction_checkins_and_see_less(auth_client, django_capture_on_commit_callbacks):
    # Given a member who steered and asked to see less of a post
    member, post = UserFactory(), PostFactory()
    client = auth_client(member)
    client.put(URL, {"text": "more cooking"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        see_less(client, post)
    assert steer_terms(member.id).active

    # When they reset
    assert client.delete(URL).status_code == 204

    # Then nothing steers their feed
    assert steer_terms(member.id) is NO_TERMS
    assert client.get(URL).json() == {
        "text": None,
        "updated_at": None,
        "clauses": [],
        "see_less": [],
        "muted_creators": [],
    }


def test_nothing_steers_a_new_member_and_it_costs_one_query(django_assert_num_queries):
    member = UserFactory()
    with django_assert_num_queries(1):
        assert steer_terms(member.id) is NO_TERMS
    assert len(NO_TERMS.rerank(np.ones((3, 384), dtype=np.float32))) == 3
    assert not NO_TERMS.rerank(np.ones((3, 384), dtype=np.float32)).any()


# --- see less like this -----------------------------------------------------------------------


def test_see_less_mutes_the_creator_and_pushes_nearby_content_down(
    auth_client, django_capture_on_commit_callbacks
):
    # Given a member and an indexed horror post
    member, post = UserFactory(), PostFactory(caption="ghost in a dark hallway")
    indexed(post, "a horror scene: a ghost in a dark hallway")
    client = auth_client(member)

    # When they send the see_less event
    with django_capture_on_commit_callbacks(execute=True):
        assert see_less(client, post).json()["accepted"] == 1

    # Then its creator is muted and content near it sinks, and GET shows both
    terms = steer_terms(member.id)
    assert terms.muted_creators == frozenset({post.owner_id})
    near, far = terms.rerank(
        content_embed(["a scary ghost haunting a house at night", "a chef cooking pasta"])
    )
    assert near < 0
    assert far == 0
    body = client.get(URL).json()
    assert [item["video_id"] for item in body["see_less"]] == [str(post.id)]
    assert body["see_less"][0]["creator"]["username"] == post.owner.username
    assert [creator["id"] for creator in body["muted_creators"]] == [str(post.owner_id)]


def test_see_less_is_recorded_once_and_without_a_vector_row_too(
    auth_client, django_capture_on_commit_callbacks
):
    # Given a post not indexed yet
    member, post = UserFactory(), PostFactory()
    client = auth_client(member)

    # When the member says see less twice (a fresh id, then the same id again)
    with django_capture_on_commit_callbacks(execute=True):
        see_less(client, post, "a")
        see_less(client, post, "b")
        see_less(client, post, "b")

    # Then one row names its creator (from feed), and the creator is muted
    row = SeeLess.objects.get(user_id=member.id)
    assert (row.video_id, row.creator_id, row.vector) == (post.id, post.owner_id, None)
    assert steer_terms(member.id).muted_creators == frozenset({post.owner_id})


def test_other_events_and_hidden_videos_steer_nothing(auth_client, django_capture_on_commit_callbacks):
    member, post, hidden = UserFactory(), PostFactory(), PostFactory()
    BlockFactory(blocker=hidden.owner, blocked=member)
    client = auth_client(member)
    at = timezone.now().isoformat()
    events = [
        {"id": "like-1", "type": "like", "video_id": str(post.id), "at": at},
        {"id": "less-1", "type": "see_less", "video_id": str(hidden.id), "at": at},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/api/v1/events", {"events": events}, format="json").status_code == 200
    assert not SeeLess.objects.exists()
    assert steer_terms(member.id) is NO_TERMS


def test_a_creator_blocked_since_is_left_out_of_the_state(auth_client, django_capture_on_commit_callbacks):
    member, post = UserFactory(), PostFactory()
    client = auth_client(member)
    with django_capture_on_commit_callbacks(execute=True):
        see_less(client, post)
    BlockFactory(blocker=post.owner, blocked=member)
    body = client.get(URL).json()
    assert body["see_less"][0]["creator"] is None
    assert body["muted_creators"] == []


# --- the member's own data ----------------------------------------------------------------------


class Sink:
    """What an export part writes, kept by name (the zip itself is feed's export's business)."""

    def __init__(self) -> None:
        self.files: dict[str, Any] = {}

    def write_json(self, name: str, value: Any) -> None:
        self.files[name] = json.loads(json.dumps(value, cls=DjangoJSONEncoder))

    def write_file(self, name: str, storage_name: str) -> None:
        raise AssertionError("the recommender's part holds no files")


def test_the_data_export_holds_steering_see_less_and_checkins(
    auth_client, django_capture_on_commit_callbacks
):
    member, post = UserFactory(), PostFactory()
    client = auth_client(member)
    client.put(URL, {"text": "more cooking, less horror"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        see_less(client, post)
    CheckIn.objects.create(user_id=member.id, answer="good", answered_at=timezone.now())
    served(member, post)

    sink = Sink()
    next(part for part in export_parts() if part.name == "recommender").write(member.id, sink)

    steering = sink.files["steering.json"]
    assert steering["instruction"]["text"] == "more cooking, less horror"
    assert [(c["direction"], c["text"]) for c in steering["clauses"]] == [
        ("toward", "cooking"),
        ("away", "horror"),
    ]
    assert "vector" not in steering["clauses"][0]
    assert [row["video_id"] for row in steering["see_less"]] == [str(post.id)]
    assert [row["answer"] for row in sink.files["checkins.json"]] == ["good"]
    assert sink.files["feed_settings.json"] is None
    assert sink.files["guardian_links.json"] == []
    assert [(row["video_id"], row["source"]) for row in sink.files["feed_served.json"]] == [
        (str(post.id), "fresh")
    ]


def test_steering_goes_with_the_account(auth_client, django_capture_on_commit_callbacks):
    member, post = UserFactory(), PostFactory()
    client = auth_client(member)
    client.put(URL, {"text": "more cooking"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        see_less(client, post)
    CheckIn.objects.create(user_id=member.id)
    served(member, post)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete("/api/v1/me", {"password": PASSWORD}, format="json").status_code == 204
    assert not Steering.objects.filter(user_id=member.id).exists()
    assert not SteerClause.objects.filter(user_id=member.id).exists()
    assert not SeeLess.objects.filter(user_id=member.id).exists()
    assert not CheckIn.objects.filter(user_id=member.id).exists()
    assert not Impression.objects.filter(user_id=member.id).exists()


def served(member, post) -> Impression:
    return Impression.objects.create(
        user_id=member.id,
        video_id=post.id,
        page_key="p",
        position=0,
        source="fresh",
        score=1.0,
        model_version="v",
    )


# --- the feed follows -----------------------------------------------------------------------------

TOPICS = {
    "cooking": [
        "a chef cooking pasta",
        "baking sourdough bread",
        "frying dumplings in a wok",
        "a soup recipe",
    ],
    "horror": [
        "a ghost in a haunted house",
        "a zombie attack at night",
        "a scary clown in the dark",
        "a demon",
    ],
    "football": [
        "a football match goal",
        "a striker scoring a penalty",
        "a soccer stadium crowd",
        "a free kick",
    ],
    "space": ["a rocket launch to orbit", "astronauts on the moon", "a galaxy and nebula", "a mars rover"],
    "cats": [
        "a kitten playing with yarn",
        "a cat sleeping in a box",
        "a cat chasing a laser",
        "a fluffy cat",
    ],
}
SETTINGS = ["filmed at sunset", "in slow motion", "in a short clip", "close up"]


def test_an_instruction_moves_the_next_first_page_toward_it(auth_client):
    # Given 80 fresh posts on five topics, each by its own creator, embedded from their captions
    captions = [
        (topic, f"{subject}, {where}")
        for topic, subjects in TOPICS.items()
        for subject in subjects
        for where in SETTINGS
    ]
    vectors = content_embed([caption for _, caption in captions])
    topic_of = {}
    for (topic, caption), vector in zip(captions, vectors, strict=True):
        post = PostFactory(caption=caption)
        VideoVector.objects.create(
            video_id=post.id,
            creator_id=post.owner_id,
            posted_at=post.posted_at,
            content=vector.tolist(),
            vector=vector.tolist(),
            in_feeds=True,
        )
        topic_of[str(post.id)] = topic
    member = UserFactory()
    client = auth_client(member)

    def first_page() -> list[str]:
        page = client.get("/api/v1/feed").json()["results"]
        return [topic_of[item["video"]["id"]] for item in page if item["type"] == "video"]

    before = first_page()

    # When the member steers, and opens the feed again
    assert client.put(URL, {"text": "more cooking, less horror"}, format="json").status_code == 200
    after = first_page()

    # Then most of the new page is cooking and horror is gone from it
    assert len(after) == 20
    assert after.count("cooking") >= 10 > before.count("cooking")
    assert after.count("horror") == 0, (before, after)
