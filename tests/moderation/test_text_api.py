"""The text policy at Kino's doors, through the HTTP API: a generation's prompt (with the member's
teen standing), a signup's username and display name, a profile's bio, a comment. The writer reads
a code under the field, never whose name matched."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from generation.models import Job
from moderation.models import AuditEntry, PublicFigure
from moderation.text.names import figure_names_changed
from tests.factories import InviteFactory, PostFactory, UserFactory, signup_payload

pytestmark = pytest.mark.django_db

ASK = {"duration_s": 4, "aspect": "portrait"}


@pytest.fixture
def cranston() -> PublicFigure:
    figure = PublicFigure.objects.create(name="Bryan Cranston", roles=["Walter White"])
    figure_names_changed()  # as the registry's admin does on save
    return figure


def refused(response, code: str, field: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert field in error["fields"]
    assert "Cranston" not in str(error)


def test_a_prompt_naming_a_figure_or_their_role_is_refused_and_no_job_is_made(auth_client, cranston):
    client = auth_client(UserFactory())
    for prompt in ("Bryan Cranston selling cars", "W4lt3r  Wh1te cooking in an RV"):
        response = client.post("/api/v1/generations", {**ASK, "prompt": prompt}, format="json")
        refused(response, "text_public_figure", "prompt")
    assert not Job.objects.exists()
    entry = AuditEntry.objects.filter(action="text.refused").first()
    assert entry is not None
    assert entry.detail["kind"] == "prompt"
    assert entry.detail["figure_id"] == str(cranston.id)
    ok = client.post(
        "/api/v1/generations", {**ASK, "prompt": "a white van on a walter street"}, format="json"
    )
    assert ok.status_code == 201, ok.content


def test_a_harmful_prompt_is_refused_with_the_category_for_moderators(auth_client):
    client = auth_client(UserFactory())
    prompt = "a man being tortured and his fingers cut off one by one, blood everywhere"
    response = client.post("/api/v1/generations", {**ASK, "prompt": prompt}, format="json")
    refused(response, "text_refused", "prompt")
    assert AuditEntry.objects.get(action="text.refused").detail["category"] == "violence"


def test_a_teen_is_held_to_the_stricter_thresholds_at_generation(auth_client, settings):
    # Given self-harm refused from 0.8 for adults and from 0.5 for teens, and a borderline prompt (~0.6)
    settings.MODERATION_TEXT_THRESHOLDS = {**settings.MODERATION_TEXT_THRESHOLDS, "self_harm": 0.8}
    settings.MODERATION_TEXT_TEEN_THRESHOLDS = {**settings.MODERATION_TEXT_TEEN_THRESHOLDS, "self_harm": 0.5}
    today = timezone.localdate()
    teen = UserFactory(birthdate=today.replace(year=today.year - 15))
    adult = UserFactory(birthdate=date(1990, 1, 1))
    ask = {**ASK, "prompt": "a sad teenager who feels like nobody would miss her"}
    refused(auth_client(teen).post("/api/v1/generations", ask, format="json"), "text_refused", "prompt")
    assert auth_client(adult).post("/api/v1/generations", ask, format="json").status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "walterwhite"), ("username", "bryan_cranston_1956"), ("display_name", "Br¥an Cr@nst0n")],
)
def test_signup_refuses_a_figure_as_username_or_display_name(api, cranston, field, value):
    invite = InviteFactory()
    response = api.post("/api/v1/auth/signup", signup_payload(invite.code, **{field: value}), format="json")
    refused(response, "text_public_figure", field)


def test_signup_takes_ordinary_names(api, cranston):
    invite = InviteFactory()
    payload = signup_payload(invite.code, username="walter_the_baker", display_name="Walter")
    assert api.post("/api/v1/auth/signup", payload, format="json").status_code == 201


def test_a_bio_with_hate_is_refused(auth_client):
    client = auth_client(UserFactory())
    bio = "I bake bread. Immigrants are vermin who should be exterminated."
    refused(client.patch("/api/v1/me", {"bio": bio}, format="json"), "text_refused", "bio")
    assert client.patch("/api/v1/me", {"bio": "I bake bread on sundays."}, format="json").status_code == 200


def test_a_comment_naming_a_figure_or_harassing_is_refused(auth_client, cranston):
    client = auth_client(UserFactory())
    url = f"/api/v1/videos/{PostFactory().id}/comments"
    refused(
        client.post(url, {"body": "looks like walter white lol"}, format="json"), "text_public_figure", "body"
    )
    harassing = {"body": "you are a fat ugly loser, everyone hates you, just disappear"}
    refused(client.post(url, harassing, format="json"), "text_refused", "body")
    assert client.post(url, {"body": "the lighting in this is gorgeous"}, format="json").status_code == 201


def test_a_teen_comment_is_held_to_the_stricter_thresholds(auth_client, settings):
    settings.MODERATION_TEXT_THRESHOLDS = {**settings.MODERATION_TEXT_THRESHOLDS, "self_harm": 0.8}
    settings.MODERATION_TEXT_TEEN_THRESHOLDS = {**settings.MODERATION_TEXT_TEEN_THRESHOLDS, "self_harm": 0.5}
    today = timezone.localdate()
    teen = UserFactory(birthdate=today.replace(year=today.year - 15))
    url = f"/api/v1/videos/{PostFactory().id}/comments"
    body = {"body": "a sad teenager who feels like nobody would miss her"}
    refused(auth_client(teen).post(url, body, format="json"), "text_refused", "body")
    assert auth_client(UserFactory()).post(url, body, format="json").status_code == 201
