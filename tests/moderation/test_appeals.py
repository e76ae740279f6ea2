"""Appeals: the affected person's one appeal, within the window, back to the queue with both sides,
reviewed by another moderator; overturning undoes the action; the outcome is told once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from config.errors import KinoError
from moderation.appeals import appeal_decide
from moderation.labels import labels_for
from moderation.models import Appeal, AuditEntry, Decision, PublicFigure, QueueItem
from moderation.queue import item_claim
from tests.factories import PASSWORD, PostFactory, UserFactory
from tests.moderation.casework import (
    decide,
    events_of,
    hear,
    moderation_notices,
    moderator,
    open_item,
    report,
)

pytestmark = pytest.mark.django_db

WHY = "It is a stage fight with fake blood, filmed for a school play."


def code_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def refused(call) -> str:
    with pytest.raises(KinoError) as caught:
        call()
    return caught.value.code


def decided(auth_client, action: str = "take_down", **kwargs):
    """Ann's post, reported by Bob and decided by Mia: (ann, post, decision, mia)."""
    ann = UserFactory(username="ann")
    post = PostFactory(owner=ann)
    report(auth_client(UserFactory()), "video", post.id, "violence")
    mia = moderator(username="mia")
    decision = decide(open_item("video", post.id), mia, action, **kwargs)
    return ann, post, decision, mia


def appeal(client, decision_id, text: str = WHY):
    return client.post(f"/api/v1/moderation/decisions/{decision_id}/appeal", {"text": text}, format="json")


def appeal_item(decision: Decision) -> QueueItem:
    return QueueItem.objects.get(kind="appeal", appeal__decision=decision)


def test_an_appeal_goes_back_to_the_same_queue_with_both_sides(auth_client):
    ann, post, decision, _ = decided(auth_client)

    answer = appeal(auth_client(ann), decision.id)

    assert answer.status_code == 201, answer.json()
    assert (answer.json()["decision_id"], answer.json()["outcome"]) == (str(decision.id), "pending")
    item = appeal_item(decision)
    assert (item.queue, item.state, item.subject_id, item.subject_owner_id) == (
        "violence",
        "open",
        post.id,
        ann.id,
    )
    assert item.appeal.text == WHY  # the appellant's side
    assert item.appeal.decision.reason_text == decision.reason_text  # the moderator's side
    assert WHY in item.summary
    card = auth_client(ann).get(f"/api/v1/moderation/decisions/{decision.id}").json()
    assert (card["can_appeal"], card["appeal"]["outcome"], card["appeal"]["text"]) == (False, "pending", WHY)
    assert AuditEntry.objects.filter(action="appeal.file", actor_id=ann.id).count() == 1


def test_one_appeal_per_decision_and_only_by_the_person_affected(auth_client):
    ann, _, decision, _ = decided(auth_client)
    assert appeal(auth_client(ann), decision.id).status_code == 201

    assert code_of(appeal(auth_client(ann), decision.id, "again")) == (409, "appeal_exists")
    stranger = auth_client(UserFactory())
    assert code_of(appeal(stranger, decision.id)) == (404, "decision_not_found")
    assert code_of(stranger.get(f"/api/v1/moderation/decisions/{decision.id}")) == (404, "decision_not_found")
    assert Appeal.objects.count() == 1


def test_the_window_to_appeal_closes(auth_client, settings):
    settings.MODERATION_APPEAL_WINDOW_S = 3600
    ann, _, decision, _ = decided(auth_client)
    assert decision.appealable_until - decision.created_at == pytest.approx(
        timedelta(hours=1), abs=timedelta(seconds=5)
    )
    Decision.objects.filter(id=decision.id).update(appealable_until=timezone.now() - timedelta(seconds=1))

    assert code_of(appeal(auth_client(ann), decision.id)) == (409, "appeal_window_closed")
    assert auth_client(ann).get(f"/api/v1/moderation/decisions/{decision.id}").json()["can_appeal"] is False
    assert not Appeal.objects.exists()


def test_an_empty_appeal_is_refused(auth_client):
    ann, _, decision, _ = decided(auth_client)
    assert appeal(auth_client(ann), decision.id, "   ").status_code == 400
    assert (
        code_of(
            auth_client(ann).post(f"/api/v1/moderation/decisions/{decision.id}/appeal", {}, format="json")
        )[0]
        == 400
    )
    assert not Appeal.objects.exists()


def test_the_moderator_who_decided_may_not_review_the_appeal(auth_client):
    ann, _, decision, mia = decided(auth_client)
    appeal(auth_client(ann), decision.id)
    item = appeal_item(decision)

    assert refused(lambda: item_claim(item_id=item.id, moderator=mia)) == "appeal_same_moderator"
    # nor decide it while another moderator holds it
    item_claim(item_id=item.id, moderator=moderator())

    def decide_as_mia():
        return appeal_decide(item_id=item.id, moderator=mia, outcome="overturned", reason_text="x")

    assert refused(decide_as_mia) == "item_not_claimed"
    item.refresh_from_db()
    assert (item.state, item.appeal.outcome) == ("claimed", "pending")


def test_overturned_the_post_is_back_and_the_appellant_is_told_once(
    auth_client, django_capture_on_commit_callbacks
):
    ann, post, decision, _ = decided(auth_client)
    appeal(auth_client(ann), decision.id)
    item, noor = appeal_item(decision), moderator()
    heard = hear(ann.id)
    assert auth_client(UserFactory()).get(f"/api/v1/videos/{post.id}").status_code == 404

    item_claim(item_id=item.id, moderator=noor)
    with django_capture_on_commit_callbacks(execute=True):
        appeal_decide(item_id=item.id, moderator=noor, outcome="overturned", reason_text="A staged scene.")

    assert auth_client(UserFactory()).get(f"/api/v1/videos/{post.id}").json()["state"] == "posted"
    told = events_of(heard(), "moderation.appeal")
    assert [(t["appeal_outcome"], t["decision_id"]) for t in told] == [("overturned", str(decision.id))]
    notices = [n for n in moderation_notices(ann) if n["kind"] == "appeal"]
    assert [n["appeal_outcome"] for n in notices] == ["overturned"]
    card = auth_client(ann).get(f"/api/v1/moderation/decisions/{decision.id}").json()
    assert (card["appeal"]["outcome"], card["appeal"]["outcome_text"]) == ("overturned", "A staged scene.")
    entry = AuditEntry.objects.get(action="appeal.overturned")
    assert (entry.actor_id, entry.after["restored"], entry.before["appeal"]["outcome"]) == (
        noor.id,
        True,
        "pending",
    )
    # decided once: a second review is refused, nobody is told twice
    assert (
        refused(lambda: appeal_decide(item_id=item.id, moderator=noor, outcome="upheld", reason_text="again"))
        == "item_decided"
    )
    assert len([n for n in moderation_notices(ann) if n["kind"] == "appeal"]) == 1


def test_upheld_the_post_stays_down(auth_client):
    ann, post, decision, _ = decided(auth_client)
    appeal(auth_client(ann), decision.id)
    item, noor = appeal_item(decision), moderator()
    item_claim(item_id=item.id, moderator=noor)

    appeal_decide(item_id=item.id, moderator=noor, outcome="upheld", reason_text="The violence is real.")

    post.refresh_from_db()
    assert post.state == "removed"
    assert [n["appeal_outcome"] for n in moderation_notices(ann) if n["kind"] == "appeal"] == ["upheld"]


def test_overturning_a_label_removes_it(auth_client):
    ann, post, decision, _ = decided(auth_client, "label", labels=["not_in_feeds"])
    assert labels_for("video", [post.id]) == {post.id: frozenset({"not_in_feeds"})}
    appeal(auth_client(ann), decision.id)
    item, noor = appeal_item(decision), moderator()
    item_claim(item_id=item.id, moderator=noor)

    appeal_decide(item_id=item.id, moderator=noor, outcome="overturned", reason_text="Fine for feeds.")

    assert labels_for("video", [post.id]) == {}


def test_a_banned_member_appeals_with_the_code_their_email_carries_and_is_let_back_in(
    auth_client, api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ann, _, decision, _ = decided(auth_client, "ban_user")
    ann.refresh_from_db()
    assert ann.is_active is False
    # A banned member cannot sign in: the statement and an appeal code reach them by email
    (email,) = [m for m in mail.outbox if m.to == [ann.email]]
    assert decision.reason_text in email.body
    token = re.search(r"^(\S{40,})$", email.body, re.MULTILINE).group(1)
    assert code_of(
        api.post("/api/v1/moderation/appeals", {"token": token + "x", "text": WHY}, format="json")
    ) == (
        400,
        "appeal_token_invalid",
    )
    filed = api.post("/api/v1/moderation/appeals", {"token": token, "text": WHY}, format="json")
    assert filed.status_code == 201, filed.json()
    again = api.post("/api/v1/moderation/appeals", {"token": token, "text": WHY}, format="json")
    assert code_of(again) == (409, "appeal_exists")
    item, noor = appeal_item(decision), moderator()
    item_claim(item_id=item.id, moderator=noor)

    appeal_decide(item_id=item.id, moderator=noor, outcome="overturned", reason_text="Wrong account.")

    ann.refresh_from_db()
    assert ann.is_active is True
    login = api.post("/api/v1/auth/token", {"username": "ann", "password": PASSWORD}, format="json")
    assert login.status_code == 200, login.json()


def test_an_appeal_code_names_a_ban_only(auth_client, api):
    from moderation.tasks import appeal_token

    _, _, decision, _ = decided(auth_client, "take_down")
    refused = api.post(
        "/api/v1/moderation/appeals", {"token": appeal_token(decision.id), "text": WHY}, format="json"
    )
    assert code_of(refused) == (400, "appeal_token_invalid")


def test_overturning_a_likeness_block_retires_the_figure_and_restores_the_clip(auth_client):
    ann, post, decision, _ = decided(auth_client, "block_likeness", figure_name="Walter White")
    appeal(auth_client(ann), decision.id)
    item, noor = appeal_item(decision), moderator()
    item_claim(item_id=item.id, moderator=noor)

    appeal_decide(item_id=item.id, moderator=noor, outcome="overturned", reason_text="An original character.")

    assert PublicFigure.objects.get(name="Walter White").active is False
    post.refresh_from_db()
    assert post.state == "posted"


def test_my_decisions_are_mine_only_and_paged(auth_client):
    ann, _, first, _ = decided(auth_client)
    other = PostFactory(owner=ann)
    report(auth_client(UserFactory()), "video", other.id, "spam")
    second = decide(open_item("video", other.id), moderator(), "label", reason_code="spam", labels=["warn"])

    page = auth_client(ann).get("/api/v1/moderation/decisions?limit=1").json()
    assert [d["id"] for d in page["results"]] == [str(second.id)]
    rest = auth_client(ann).get(page["next"]).json()
    assert [d["id"] for d in rest["results"]] == [str(first.id)]
    assert auth_client(UserFactory()).get("/api/v1/moderation/decisions").json()["results"] == []
