"""The wellbeing check-in: a card at a configurable cadence (`checkin_card`), answered once
(`POST /api/v1/feed/checkins/{id}/answer`); some answers steer the feed for a while."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from recommender.models import DIMENSIONS, CheckIn, SteerClause, VideoVector
from recommender.steering import NO_TERMS, steer_terms
from recommender.vectors import content_embed
from recommender.wellbeing import ANSWERS, checkin_card
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def answer_url(card: dict) -> str:
    return f"/api/v1/feed/checkins/{card['id']}/answer"


@pytest.fixture
def cadence(settings):
    settings.RECOMMENDER_CHECKIN_EVERY_ITEMS = 40
    settings.RECOMMENDER_CHECKIN_EVERY_S = 3600


def test_no_card_before_the_session_has_served_enough_and_no_query(cadence, django_assert_num_queries):
    member = UserFactory()
    with django_assert_num_queries(0):
        assert checkin_card(member.id, served_so_far=39) is None


def test_a_card_comes_at_the_cadence_and_not_again_within_the_interval(cadence):
    # Given a member whose session has served 40 items
    member = UserFactory()

    # When the feed asks for a card twice
    card = checkin_card(member.id, served_so_far=40)
    again = checkin_card(member.id, served_so_far=60)

    # Then the first is a card with every answer, the second none (an hour has not passed)
    assert card is not None
    assert again is None
    assert [a["value"] for a in card["answers"]] == list(ANSWERS)
    assert CheckIn.objects.get(user_id=member.id).answer == ""

    # And an hour later there is another
    CheckIn.objects.filter(user_id=member.id).update(shown_at=timezone.now() - timedelta(seconds=3601))
    assert checkin_card(member.id, served_so_far=40) is not None


def test_a_cadence_of_zero_items_turns_cards_off(settings):
    settings.RECOMMENDER_CHECKIN_EVERY_ITEMS = 0
    assert checkin_card(UserFactory().id, served_so_far=10_000) is None


def test_an_answer_steers_the_feed_for_a_while_and_shows_in_steer(cadence, auth_client, settings):
    # Given a card shown to a member
    member = UserFactory()
    client = auth_client(member)
    card = checkin_card(member.id, served_so_far=40)

    # When they answer that they would like something calmer
    response = client.post(answer_url(card), {"answer": "calmer"}, format="json")

    # Then it is recorded, steers toward calm and away from intense content, and shows in GET /feed/steer
    assert response.status_code == 200, response.content
    assert response.json()["answer"] == "calmer"
    terms = steer_terms(member.id)
    calm, intense = terms.rerank(content_embed(["a peaceful lake at sunrise", "a violent scary chase"]))
    assert calm > intense
    clauses = client.get("/api/v1/feed/steer").json()["clauses"]
    assert {(c["direction"], c["source"]) for c in clauses} == {("toward", "checkin"), ("away", "checkin")}
    assert all(c["expires_at"] for c in clauses)

    # And once the steering's time has passed, it steers nothing
    SteerClause.objects.filter(user_id=member.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert steer_terms(member.id) is NO_TERMS


def test_a_plain_answer_steers_nothing_and_a_card_is_answered_once(cadence, auth_client):
    member = UserFactory()
    client = auth_client(member)
    card = checkin_card(member.id, served_so_far=40)
    assert client.post(answer_url(card), {"answer": "good"}, format="json").status_code == 200
    assert steer_terms(member.id) is NO_TERMS
    again = client.post(answer_url(card), {"answer": "calmer"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "checkin_answered"


def test_someone_elses_card_is_not_found_and_a_bad_answer_is_a_400(cadence, auth_client):
    owner, other = UserFactory(), UserFactory()
    card = checkin_card(owner.id, served_so_far=40)
    hidden = auth_client(other).post(answer_url(card), {"answer": "good"}, format="json")
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "checkin_not_found"
    bad = auth_client(owner).post(answer_url(card), {"answer": "meh"}, format="json")
    assert bad.status_code == 400


def test_the_feed_offers_the_card_after_the_cadences_items_and_it_can_be_answered(auth_client, settings):
    # Given cards every 40 items and plenty of indexed posts
    settings.RECOMMENDER_CHECKIN_EVERY_ITEMS = 40
    settings.RECOMMENDER_CHECKIN_EVERY_S = 3600
    rng = np.random.default_rng(7)
    for vector in rng.normal(size=(70, DIMENSIONS)):
        post = PostFactory()
        unit = (vector / np.linalg.norm(vector)).tolist()
        VideoVector.objects.create(
            video_id=post.id,
            creator_id=post.owner_id,
            posted_at=post.posted_at,
            content=unit,
            vector=unit,
            in_feeds=True,
        )
    client = auth_client(UserFactory())

    # When the member scrolls three pages
    first = client.get("/api/v1/feed").json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    # Then the card comes once, after the 40th item, and answering it steers the feed
    kinds = [[item["type"] for item in page["results"]] for page in (first, second, third)]
    assert kinds[0] == ["video"] * 20
    assert kinds[1] == ["video"] * 20 + ["checkin"]
    assert "checkin" not in kinds[2]
    card = second["results"][-1]["checkin"]
    answered = client.post(answer_url(card), {"answer": "funnier"}, format="json")
    assert answered.status_code == 200, answered.content
    assert client.get("/api/v1/feed/steer").json()["clauses"][0]["source"] == "checkin"
