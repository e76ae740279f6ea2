"""Teens: the daily cap on feed items (`teen_policy`, `teen_items_served`, 429
`feed_daily_limit_reached`), and guardian links (`/api/v1/guardianships`): invite, confirm by the
other side, the guardian's switches, end."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from config.errors import KinoError
from recommender.models import DIMENSIONS, FeedProfile, Guardianship, Impression, UserVector, VideoVector
from recommender.teens import ADULT, teen_items_served, teen_limit_require, teen_policy
from tests.factories import BlockFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/guardianships"


def a_teen(**fields: Any) -> Any:
    today = timezone.localdate()
    return UserFactory(birthdate=today.replace(year=today.year - 15), **fields)


def an_adult(**fields: Any) -> Any:
    return UserFactory(birthdate=date(1985, 3, 4), **fields)


# --- the daily cap ------------------------------------------------------------------------------


def test_an_adult_has_no_cap_and_no_switches():
    assert teen_policy(an_adult().id) == ADULT


def test_a_teen_is_served_up_to_the_cap_then_refused_with_a_stable_code(settings):
    # Given a cap of 20 items a day
    settings.RECOMMENDER_TEEN_DAILY_ITEMS = 20
    teen = a_teen()
    assert teen_policy(teen.id).items_left_today == 20

    # When pages of 15, 10 and 5 items are about to be served
    served = [teen_items_served(teen.id, n) for n in (15, 10, 5)]

    # Then only what fits under the cap is served, and the next page is refused
    assert served == [15, 5, 0]
    policy = teen_policy(teen.id)
    assert policy.is_teen
    assert policy.items_left_today == 0
    with pytest.raises(KinoError) as refused:
        teen_limit_require(policy)
    assert (refused.value.code, refused.value.status_code) == ("feed_daily_limit_reached", 429)


@pytest.mark.django_db(transaction=True)
def test_pages_served_at_once_never_pass_the_cap(settings):
    settings.RECOMMENDER_TEEN_DAILY_ITEMS = 20
    teen = a_teen()
    taken: list[int] = []

    def serve() -> None:
        try:
            taken.append(teen_items_served(teen.id, 5))
        finally:
            connection.close()

    threads = [threading.Thread(target=serve) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(taken) == 20
    assert sorted(taken)[-4:] == [5, 5, 5, 5]


def test_without_redis_the_cap_counts_todays_logged_impressions(settings):
    # Given a teen served 18 items today (logged), 5 yesterday, and Redis unreachable
    settings.RECOMMENDER_TEEN_DAILY_ITEMS = 20
    teen = a_teen()
    now = timezone.now()
    yesterday = timezone.localtime(now) - timedelta(days=1)
    Impression.objects.bulk_create(
        Impression(
            user_id=teen.id,
            video_id=teen.id,
            page_key="p",
            position=i,
            source="ann",
            score=0,
            model_version="v",
            served_at=now if i < 18 else yesterday,
        )
        for i in range(23)
    )
    settings.REDIS_URL = "redis://127.0.0.1:9/0"

    # Then the policy and the reservation read what was served today
    assert teen_policy(teen.id).items_left_today == 2
    assert teen_items_served(teen.id, 5) == 2


def test_a_teen_reads_what_is_left_today_and_an_adult_reads_no_cap(auth_client, settings):
    settings.RECOMMENDER_TEEN_DAILY_ITEMS = 20
    teen = a_teen()
    FeedProfile.objects.create(user_id=teen.id, continuous_scroll_off=True)
    teen_items_served(teen.id, 15)
    assert auth_client(teen).get("/api/v1/feed/limits").json() == {
        "is_teen": True,
        "daily_items": 20,
        "items_left_today": 5,
        "personalisation_off": False,
        "continuous_scroll_off": True,
    }
    assert auth_client(an_adult()).get("/api/v1/feed/limits").json() == {
        "is_teen": False,
        "daily_items": None,
        "items_left_today": None,
        "personalisation_off": False,
        "continuous_scroll_off": False,
    }


# --- guardian links -----------------------------------------------------------------------------


def invite(client: Any, username: str) -> Any:
    return client.post(URL, {"username": username}, format="json")


def test_a_guardian_invites_the_teen_confirms_and_the_switches_reach_the_feed(auth_client):
    # Given an adult and a teen
    guardian, teen = an_adult(), a_teen()
    as_guardian, as_teen = auth_client(guardian), auth_client(teen)

    # When the adult invites the teen
    invited = invite(as_guardian, teen.username)
    assert invited.status_code == 201, invited.content
    link = invited.json()
    assert (link["state"], link["invited_by"], link["my_side"]) == ("invited", "guardian", "guardian")
    assert link["switches"] is None

    # Then the guardian cannot confirm their own invitation, nor set switches before the teen does
    url = f"{URL}/{link['id']}"
    assert as_guardian.post(f"{url}/confirm").json()["error"]["code"] == "guardianship_other_side"
    switches = {"personalisation_off": True, "continuous_scroll_off": True}
    assert as_guardian.put(f"{url}/switches", switches, format="json").status_code == 409

    # When the teen confirms, and the guardian sets both switches
    confirmed = as_teen.post(f"{url}/confirm")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["state"] == "confirmed"
    assert confirmed.json()["my_side"] == "teen"
    response = as_guardian.put(f"{url}/switches", switches, format="json")

    # Then the teen's feed policy has them, and both sides read them on the link
    assert response.status_code == 200, response.content
    assert response.json()["switches"] == switches
    policy = teen_policy(teen.id)
    assert policy.personalisation_off
    assert policy.continuous_scroll_off
    assert as_teen.get(url).json()["switches"] == switches
    assert as_teen.get(url).json()["items_served_today"] == 0

    # And they are JSON true or false, nothing that merely reads as one
    loose = as_guardian.put(
        f"{url}/switches", {"personalisation_off": "yes", "continuous_scroll_off": 1}, format="json"
    )
    assert (loose.status_code, loose.json()["error"]["code"]) == (400, "invalid_input")
    assert set(loose.json()["error"]["fields"]) == {"personalisation_off", "continuous_scroll_off"}

    # And the teen may not change them
    assert as_teen.put(f"{url}/switches", switches, format="json").json()["error"]["code"] == (
        "guardianship_guardian_only"
    )


def test_a_teen_invites_a_guardian_who_confirms(auth_client):
    guardian, teen = an_adult(), a_teen()
    link = invite(auth_client(teen), guardian.username).json()
    assert (link["guardian"]["id"], link["teen"]["id"], link["invited_by"]) == (
        str(guardian.id),
        str(teen.id),
        "teen",
    )
    confirmed = auth_client(guardian).post(f"{URL}/{link['id']}/confirm")
    assert confirmed.json()["state"] == "confirmed"


def test_inviting_again_answers_the_open_link(auth_client):
    guardian, teen = an_adult(), a_teen()
    first = invite(auth_client(guardian), teen.username).json()
    again = invite(auth_client(teen), guardian.username)
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]


def test_ending_a_link_turns_the_switches_off(auth_client):
    guardian, teen = an_adult(), a_teen()
    link = Guardianship.objects.create(guardian=guardian, teen=teen, invited_by="guardian", state="confirmed")
    FeedProfile.objects.create(user_id=teen.id, personalisation_off=True, continuous_scroll_off=True)
    ended = auth_client(teen).post(f"{URL}/{link.id}/end")
    assert ended.status_code == 200
    assert ended.json()["state"] == "ended"
    assert teen_policy(teen.id).personalisation_off is False
    assert auth_client(teen).post(f"{URL}/{link.id}/end").status_code == 200  # again: nothing changes
    assert auth_client(teen).post(f"{URL}/{link.id}/confirm").status_code == 409


def test_a_teen_has_one_guardian_at_a_time(auth_client):
    teen, first, second = a_teen(), an_adult(), an_adult()
    Guardianship.objects.create(guardian=first, teen=teen, invited_by="guardian", state="confirmed")
    refused = invite(auth_client(second), teen.username)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "guardianship_teen_linked"
    # An invitation made before the first link was confirmed cannot be confirmed either
    pending = Guardianship.objects.create(guardian=second, teen=teen, invited_by="guardian")
    assert auth_client(teen).post(f"{URL}/{pending.id}/confirm").json()["error"]["code"] == (
        "guardianship_teen_linked"
    )


@pytest.mark.django_db(transaction=True)
def test_two_confirmations_at_once_make_one_guardian(auth_client):
    # Given a teen invited by two adults
    teen = a_teen()
    links = [
        Guardianship.objects.create(guardian=an_adult(), teen=teen, invited_by="guardian") for _ in range(2)
    ]
    answers: list[int] = []

    def confirm(link: Guardianship) -> None:
        try:
            answers.append(auth_client(teen).post(f"{URL}/{link.id}/confirm").status_code)
        finally:
            connection.close()

    # When the teen confirms both at the same moment
    threads = [threading.Thread(target=confirm, args=(link,)) for link in links]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one link is confirmed, and the other answer is a 409
    assert sorted(answers) == [200, 409]
    assert Guardianship.objects.filter(teen=teen, state="confirmed").count() == 1


@pytest.mark.parametrize(
    ("inviter", "invitee"),
    [(an_adult, an_adult), (a_teen, a_teen)],
    ids=["two-adults", "two-teens"],
)
def test_a_link_joins_an_adult_and_a_teen(auth_client, inviter, invitee):
    response = invite(auth_client(inviter()), invitee().username)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "guardianship_roles"


def test_nobody_else_sees_a_link_and_blocked_names_are_unknown(auth_client):
    guardian, teen, stranger = an_adult(), a_teen(), an_adult()
    link = Guardianship.objects.create(guardian=guardian, teen=teen, invited_by="guardian")
    as_stranger = auth_client(stranger)
    assert as_stranger.get(f"{URL}/{link.id}").json()["error"]["code"] == "guardianship_not_found"
    assert as_stranger.post(f"{URL}/{link.id}/confirm").status_code == 404
    assert as_stranger.get(URL).json()["results"] == []
    BlockFactory(blocker=teen, blocked=stranger)
    assert invite(as_stranger, teen.username).json()["error"]["code"] == "user_not_found"


def test_both_sides_list_the_link(auth_client):
    guardian, teen = an_adult(), a_teen()
    link = Guardianship.objects.create(guardian=guardian, teen=teen, invited_by="teen")
    for member, side in ((guardian, "guardian"), (teen, "teen")):
        results = auth_client(member).get(URL).json()["results"]
        assert [(r["id"], r["my_side"]) for r in results] == [(str(link.id), side)]


# --- in the feed ----------------------------------------------------------------------------------


def posts_with_vectors(n: int, *, age: timedelta = timedelta(hours=1)) -> None:
    """`n` posts by as many creators, indexed as the recommender's listeners leave them."""
    rng = np.random.default_rng(age.seconds)
    for vector in rng.normal(size=(n, DIMENSIONS)):
        post = PostFactory(posted_at=timezone.now() - age)
        unit = (vector / np.linalg.norm(vector)).tolist()
        VideoVector.objects.create(
            video_id=post.id,
            creator_id=post.owner_id,
            posted_at=post.posted_at,
            content=unit,
            vector=unit,
            in_feeds=True,
            teen_text_ok=True,
        )


def test_the_feed_stops_at_a_teens_daily_cap_with_its_code(auth_client, settings):
    # Given a cap of 25 items and plenty of posts
    settings.RECOMMENDER_TEEN_DAILY_ITEMS = 25
    posts_with_vectors(60)
    client = auth_client(a_teen())

    # When the teen scrolls
    first = client.get("/api/v1/feed")
    second = client.get(first.json()["next"])

    # Then the second page holds what was left of the 25, and the next page is a 429 with the code
    assert first.status_code == 200, first.content[:300]
    assert len(first.json()["results"]) == 20
    assert [item["type"] for item in second.json()["results"]] == ["video"] * 5
    refused = client.get("/api/v1/feed")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "feed_daily_limit_reached"


def test_an_adult_is_not_capped(auth_client, settings):
    settings.RECOMMENDER_TEEN_DAILY_ITEMS = 5
    posts_with_vectors(30)
    client = auth_client(an_adult())
    assert len(client.get("/api/v1/feed").json()["results"]) == 20
    assert client.get("/api/v1/feed").status_code == 200


def test_continuous_scroll_off_serves_one_page_at_a_time(auth_client):
    # Given a teen whose guardian turned continuous scrolling off
    teen = a_teen()
    posts_with_vectors(50)
    FeedProfile.objects.create(user_id=teen.id, continuous_scroll_off=True)

    # When the teen opens the feed, the page has no next link
    page = auth_client(teen).get("/api/v1/feed").json()
    assert len(page["results"]) == 20
    assert page["next"] is None


def test_personalisation_off_builds_the_page_without_the_teens_interests_or_steering(auth_client):
    # Given a teen with an interest vector and an instruction, whose guardian turned personalisation off
    # (fresh posts, which everyone is offered, and older ones, found only by ANN for them)
    teen = a_teen()
    posts_with_vectors(30)
    posts_with_vectors(30, age=timedelta(days=3))
    interest = np.ones(DIMENSIONS) / np.sqrt(DIMENSIONS)
    UserVector.objects.create(user_id=teen.id, slot=0, vector=interest.tolist(), weight=1.0, events=10)
    client = auth_client(teen)
    assert client.put("/api/v1/feed/steer", {"text": "more cats"}, format="json").status_code == 200
    FeedProfile.objects.create(user_id=teen.id, personalisation_off=True)

    # When the teen opens the feed
    assert len(client.get("/api/v1/feed").json()["results"]) == 20

    # Then nothing on it came from their interests or their instruction
    sources = set(Impression.objects.filter(user_id=teen.id).values_list("source", flat=True))
    assert sources
    assert not sources & {"ann", "steer"}


# --- the admin ------------------------------------------------------------------------------------


def test_staff_find_links_by_username_and_may_end_one(client):
    # Given a confirmed link whose guardian turned personalisation off
    guardian, teen = an_adult(username="guardian_ann"), a_teen()
    link = Guardianship.objects.create(guardian=guardian, teen=teen, invited_by="teen", state="confirmed")
    other = Guardianship.objects.create(guardian=an_adult(), teen=a_teen(), invited_by="guardian")
    FeedProfile.objects.create(user_id=teen.id, personalisation_off=True)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    # When staff search by the guardian's name, then end the link from the list
    found = client.get("/admin/recommender/guardianship/", {"q": "guardian_ann"}).content.decode()
    client.post(
        "/admin/recommender/guardianship/",
        {"action": "end_links", "_selected_action": [str(link.pk)]},
    )

    # Then the search found it alone, it is ended and the teen's switch is off again
    assert str(link.id) in found
    assert str(other.id) not in found
    link.refresh_from_db()
    assert link.state == "ended"
    assert teen_policy(teen.id).personalisation_off is False


@pytest.mark.parametrize(
    "model", ["guardianship", "feedprofile", "steering", "steerclause", "seeless", "checkin"]
)
def test_the_admin_pages_are_read_only(client, model):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(f"/admin/recommender/{model}/").status_code == 200
    assert client.get(f"/admin/recommender/{model}/add/").status_code == 403


def test_each_side_is_told_of_an_invitation_a_confirmation_and_an_end(auth_client):
    guardian, teen = an_adult(), a_teen()
    as_guardian, as_teen = auth_client(guardian), auth_client(teen)

    def heard(client: Any) -> list[tuple[str, str | None]]:
        groups = client.get("/api/v1/notifications").json()["results"]
        return [(g["type"], g["data"].get("state")) for g in groups]

    link = invite(as_guardian, teen.username).json()
    assert heard(as_teen) == [("guardian_invited", None)]
    as_teen.post(f"{URL}/{link['id']}/confirm")
    assert heard(as_guardian) == [("guardian_link_changed", "confirmed")]
    as_guardian.post(f"{URL}/{link['id']}/end")
    assert heard(as_teen)[0] == ("guardian_link_changed", "ended")
    assert all(
        g["data"]["guardianship_id"] == link["id"]
        for g in as_teen.get("/api/v1/notifications").json()["results"]
    )
