"""An estate's representative asks for a deceased person's likeness to be blocked (public API); a
moderator registers the block in the admin; from then on the person's name and roles are refused."""

from __future__ import annotations

import pytest

from moderation.models import AuditEntry, EstateRequest, PublicFigure
from moderation.text.names import figure_names_changed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ESTATE = {
    "person_name": "Gene Wilder",
    "roles": ["Willy Wonka"],
    "representative": "Jane Doe, executor of the estate",
    "contact_email": "Jane@Estate.example",
    "text": "Please stop clips of him.",
}


def group_moderator():
    """A member of the `moderators` group, with exactly its permissions."""
    from django.contrib.auth.models import Group

    from accounts.roles import MODERATORS, moderators_group_sync

    moderators_group_sync()
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATORS))
    return user


def prompt_code(client, prompt: str) -> str:
    answer = client.post("/api/v1/generations", {"prompt": prompt, "duration_s": 4}, format="json")
    return answer.json()["error"]["code"] if answer.status_code == 400 else str(answer.status_code)


def test_an_estate_asks_a_moderator_registers_and_the_name_and_role_are_refused(
    api, auth_client, client, django_capture_on_commit_callbacks
):
    member = auth_client(UserFactory())
    assert prompt_code(member, "willy wonka in a chocolate factory") == "201"

    asked = api.post("/api/v1/moderation/estate-requests", ESTATE, format="json")  # no login
    assert asked.status_code == 201, asked.json()
    request = EstateRequest.objects.get(id=asked.json()["id"])
    assert (request.state, request.contact_email) == ("open", "jane@estate.example")

    client.force_login(group_moderator())
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            "/admin/moderation/estaterequest/",
            {"action": "register_block", "_selected_action": [str(request.id)]},
            follow=True,
        )
    assert done.status_code == 200
    figure = PublicFigure.objects.get(name="Gene Wilder")
    assert (figure.status, figure.estate_block, figure.blocks) == ("deceased", True, True)
    assert figure.roles == ["Willy Wonka"]
    assert "jane@estate.example" in figure.estate_contact
    assert AuditEntry.objects.filter(action="estate.register", subject_id=str(request.id)).exists()
    assert prompt_code(member, "willy wonka in a chocolate factory") == "text_public_figure"
    assert prompt_code(member, "G3ne W1lder dancing") == "text_public_figure"

    # A request is handled once
    again = client.post(
        "/admin/moderation/estaterequest/",
        {"action": "register_block", "_selected_action": [str(request.id)]},
        follow=True,
    )
    assert "already been handled" in again.content.decode()


def test_a_deceased_figure_without_an_estate_block_does_not_block_until_one_is_registered(
    auth_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        PublicFigure.objects.create(name="Ada Lovelace", status="deceased")
        figure_names_changed()
    member = auth_client(UserFactory())
    assert prompt_code(member, "ada lovelace writing the first program") == "201"


def test_an_estate_request_is_checked_like_any_input(api):
    bad = api.post("/api/v1/moderation/estate-requests", {**ESTATE, "contact_email": "nope"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"
    assert "contact_email" in bad.json()["error"]["fields"]
    assert not EstateRequest.objects.exists()
