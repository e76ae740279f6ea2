"""Moderators' claims and decisions (the services the admin calls), and what members hear of them
through the API, the WebSocket and their notifications."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from config.errors import KinoError
from feed.models import Comment, Video, VideoStats
from generation.models import Job
from moderation.decisions import decision_make
from moderation.labels import labels_for
from moderation.models import AuditEntry, Label, PublicFigure, QueueItem, Report
from moderation.queue import item_claim, item_release, note_add
from tests.factories import CommentFactory, JobFactory, PostFactory, UserFactory
from tests.moderation.casework import (
    REASON_TEXT,
    decide,
    events_of,
    hear,
    moderation_notices,
    moderator,
    open_item,
    report,
)

pytestmark = pytest.mark.django_db


def refused(call) -> str:
    with pytest.raises(KinoError) as caught:
        call()
    return caught.value.code


@pytest.fixture
def reported_post(auth_client):
    """Ann's post, reported as violent by Bob: its open queue item."""
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    post = PostFactory(owner=ann)
    assert report(auth_client(bob), "video", post.id, "violence").status_code == 201
    return open_item("video", post.id)


# --- claims -----------------------------------------------------------------------------------------


def test_two_moderators_never_work_the_same_item(reported_post, settings):
    mia, noor = moderator(), moderator()

    item_claim(item_id=reported_post.id, moderator=mia)

    assert refused(lambda: item_claim(item_id=reported_post.id, moderator=noor)) == "item_claimed"
    assert refused(lambda: decide(reported_post, noor, "take_down")) == "item_claimed"
    reported_post.refresh_from_db()
    assert (reported_post.state, reported_post.claimed_by_id) == ("claimed", mia.id)
    # A claim left too long may be taken over
    QueueItem.objects.filter(id=reported_post.id).update(
        claimed_at=timezone.now() - timedelta(seconds=settings.MODERATION_CLAIM_TTL_S + 1)
    )
    assert item_claim(item_id=reported_post.id, moderator=noor).claimed_by_id == noor.id
    assert refused(lambda: item_release(item_id=reported_post.id, moderator=mia)) == "item_not_claimed"


def test_a_released_item_goes_back_to_the_queue_and_every_step_is_audited(reported_post):
    mia, noor = moderator(), moderator()
    item_claim(item_id=reported_post.id, moderator=mia)
    note_add(item_id=reported_post.id, author=mia, text="Looks staged; checking the original.")
    item_release(item_id=reported_post.id, moderator=mia)

    reported_post.refresh_from_db()
    assert (reported_post.state, reported_post.claimed_by_id) == ("open", None)
    assert item_claim(item_id=reported_post.id, moderator=noor).claimed_by_id == noor.id
    entries = AuditEntry.objects.filter(subject_id=str(reported_post.subject_id)).order_by("id")
    assert [entry.action for entry in entries] == [
        "report.file",
        "item.claim",
        "item.note",
        "item.release",
        "item.claim",
    ]
    release = entries[3]
    assert (release.actor_id, release.before["state"], release.after["state"]) == (mia.id, "claimed", "open")
    assert reported_post.notes.get().text == "Looks staged; checking the original."


def test_members_who_are_not_moderators_cannot_claim(reported_post):
    assert (
        refused(lambda: item_claim(item_id=reported_post.id, moderator=UserFactory())) == "moderator_required"
    )
    assert refused(lambda: note_add(item_id=reported_post.id, author=UserFactory(), text="x")) == (
        "moderator_required"
    )


@pytest.mark.django_db(transaction=True)
def test_two_claims_at_once_one_wins(auth_client):
    post = PostFactory()
    report(auth_client(UserFactory()), "video", post.id, "spam")
    item = open_item("video", post.id)
    claimants = [moderator(), moderator(), moderator()]
    barrier = threading.Barrier(len(claimants))
    answers: list[object] = [None] * len(claimants)

    def claim(index: int) -> None:
        try:
            barrier.wait()
            answers[index] = item_claim(item_id=item.id, moderator=claimants[index]).claimed_by_id
        except KinoError as refusal:
            answers[index] = refusal.code
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(claimants))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [answer for answer in answers if answer != "item_claimed"]
    assert len(winners) == 1, answers
    item.refresh_from_db()
    assert item.claimed_by_id == winners[0]
    assert AuditEntry.objects.filter(action="item.claim").count() == 1


# --- decisions ---------------------------------------------------------------------------------------


def test_a_takedown_removes_the_post_and_its_owner_reads_why(
    reported_post, auth_client, django_capture_on_commit_callbacks
):
    mia = moderator()
    ann = Video.objects.get(id=reported_post.subject_id).owner
    bob = reported_post.reports.get().reporter
    heard_ann, heard_bob = hear(ann.id), hear(bob.id)

    with django_capture_on_commit_callbacks(execute=True):
        decision = decide(reported_post, mia, "take_down")

    # The post is a removed tombstone: gone for everyone
    assert Video.objects.get(id=reported_post.subject_id).state == "removed"
    assert auth_client(bob).get(f"/api/v1/videos/{reported_post.subject_id}").status_code == 404
    # Ann reads a statement of reasons: on her socket, as a notification, and in her list
    statement = events_of(heard_ann(), "moderation.decision")
    assert len(statement) == 1
    assert statement[0]["decision_id"] == str(decision.id)
    assert statement[0]["reason"] == {"code": "graphic_violence", "text": REASON_TEXT}
    assert statement[0]["appealable_until"] is not None
    assert [(n["kind"], n["decision_id"]) for n in moderation_notices(ann)] == [
        ("statement", str(decision.id))
    ]
    notices = auth_client(ann).get("/api/v1/notifications").json()["results"]
    assert [(n["type"], n["target"]) for n in notices] == [
        ("moderation", {"kind": "decision", "id": str(decision.id), "video": None})
    ]
    mine = auth_client(ann).get("/api/v1/moderation/decisions").json()["results"]
    assert [(d["id"], d["action"], d["reason"]["code"], d["can_appeal"]) for d in mine] == [
        (str(decision.id), "take_down", "graphic_violence", True)
    ]
    assert mine[0]["subject"] == {"kind": "video", "id": str(reported_post.subject_id)}
    # Bob, who reported it, hears the outcome (without the words meant for Ann)
    told = events_of(heard_bob(), "moderation.report")
    assert [(t["action"], t["reason"]["code"]) for t in told] == [("take_down", "graphic_violence")]
    assert REASON_TEXT not in str(told)
    assert auth_client(bob).get("/api/v1/moderation/decisions").json()["results"] == []
    # The audit log holds who did what, why, before and after
    entry = AuditEntry.objects.get(action="decision.take_down")
    assert (entry.actor_id, entry.reason_code, entry.reason) == (mia.id, "graphic_violence", REASON_TEXT)
    assert (entry.before["subject"]["state"], entry.after["subject"]["state"]) == ("posted", "removed")
    assert (entry.before["item"]["state"], entry.after["item"]["state"]) == ("claimed", "decided")


def test_reporters_are_told_the_outcome_exactly_once(auth_client):
    post = PostFactory()
    early = [UserFactory(), UserFactory()]
    for member in early:
        report(auth_client(member), "video", post.id, "sexual")
    first = open_item("video", post.id)
    decide(first, moderator(), "label", reason_code="sexual_content", labels=["not_for_teens"])
    told_at = dict(Report.objects.values_list("reporter_id", "outcome_told_at"))
    assert all(told_at[member.id] is not None for member in early)

    # A later reporter opens a new item; its decision tells only them
    late = UserFactory()
    assert report(auth_client(late), "video", post.id, "sexual").status_code == 201
    assert (
        report(auth_client(early[0]), "video", post.id, "sexual").status_code == 200
    )  # folded, no new report
    second = open_item("video", post.id)
    assert second.id != first.id
    assert second.reports_count == 1
    decide(second, moderator(), "dismiss", reason_code="no_violation")

    for member in early:
        assert [n["kind"] for n in moderation_notices(member)] == ["report"]
        assert moderation_notices(member)[0]["action"] == "label"
    assert [(n["kind"], n["action"]) for n in moderation_notices(late)] == [("report", "dismiss")]
    assert Report.objects.get(reporter=early[0]).outcome_told_at == told_at[early[0].id]


def test_a_dismissal_tells_the_reporter_and_not_the_owner(reported_post, auth_client):
    owner = Video.objects.get(id=reported_post.subject_id).owner
    decision = decide(reported_post, moderator(), "dismiss", reason_code="no_violation")

    assert Video.objects.get(id=reported_post.subject_id).state == "posted"
    assert (decision.affected_user_id, decision.appealable_until) == (None, None)
    assert moderation_notices(owner) == []
    assert auth_client(owner).get("/api/v1/moderation/decisions").json()["results"] == []
    assert [n["kind"] for n in moderation_notices(reported_post.reports.get().reporter)] == ["report"]


def test_labels_are_graded_outcomes_the_recommender_reads(reported_post):
    other = PostFactory()
    decision = decide(reported_post, moderator(), "label", labels=["warn", "not_in_feeds"])

    assert sorted(decision.labels) == ["not_in_feeds", "warn"]
    assert Video.objects.get(id=reported_post.subject_id).state == "posted"
    assert labels_for("video", [reported_post.subject_id, other.id]) == {
        reported_post.subject_id: frozenset({"warn", "not_in_feeds"})
    }
    assert Label.objects.filter(decision=decision).count() == 2


def test_a_ban_stops_the_owners_jobs_revokes_their_tokens_and_closes_their_sockets(
    reported_post, auth_client, django_capture_on_commit_callbacks
):
    owner = Video.objects.get(id=reported_post.subject_id).owner
    client = auth_client(owner)
    job = JobFactory(user=owner)
    assert client.get("/api/v1/moderation/decisions").status_code == 200
    heard = hear(owner.id)

    with django_capture_on_commit_callbacks(execute=True):
        decision = decide(reported_post, moderator(), "ban_user", reason_code="graphic_violence")

    owner.refresh_from_db()
    assert owner.is_active is False
    assert client.get("/api/v1/moderation/decisions").status_code == 401
    job.refresh_from_db()
    assert job.state == Job.State.BLOCKED
    messages = heard()
    assert [e["decision_id"] for e in events_of(messages, "moderation.decision")] == [str(decision.id)]
    # the statement reaches the member's sockets before they close
    kinds = [m.get("event", {}).get("type") or m["type"] for m in messages]
    assert kinds.index("moderation.decision") < kinds.index("kino.close")
    assert {"type": "kino.close", "reason": "account_inactive"} in messages


def test_staff_are_not_banned_from_the_queue(auth_client):
    staff_post = PostFactory(owner=UserFactory(is_staff=True))
    report(auth_client(UserFactory()), "video", staff_post.id, "spam")
    item = open_item("video", staff_post.id)
    mia = moderator()
    item_claim(item_id=item.id, moderator=mia)
    code = refused(
        lambda: decision_make(
            item_id=item.id, moderator=mia, action="ban_user", reason_code="spam", reason_text="spam"
        )
    )
    assert code == "action_not_applicable"
    assert staff_post.owner.is_active


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"reason_code": "because"}, "reason_code_unknown"),
        ({"reason_text": "   "}, "reason_required"),
        ({"action": "label"}, "action_not_applicable"),  # no labels chosen
        ({"action": "label", "labels": ["sparkly"]}, "action_not_applicable"),
        ({"action": "block_likeness"}, "action_not_applicable"),  # no figure named
        ({"action": "explode"}, "action_not_applicable"),
    ],
    ids=[
        "unknown-code",
        "no-text",
        "label-without-labels",
        "unknown-label",
        "likeness-without-name",
        "bad-action",
    ],
)
def test_a_decision_needs_a_reason_and_what_it_acts_with(reported_post, changes, code):
    mia = moderator()
    item_claim(item_id=reported_post.id, moderator=mia)
    args = {"action": "take_down", "reason_code": "graphic_violence", "reason_text": REASON_TEXT, **changes}

    assert refused(lambda: decision_make(item_id=reported_post.id, moderator=mia, **args)) == code
    reported_post.refresh_from_db()
    assert reported_post.state == "claimed"
    assert Video.objects.get(id=reported_post.subject_id).state == "posted"


def test_an_item_is_decided_once(reported_post):
    mia = moderator()
    decide(reported_post, mia, "dismiss", reason_code="no_violation")
    assert refused(lambda: decide(reported_post, mia, "take_down")) == "item_decided"
    assert refused(lambda: item_claim(item_id=reported_post.id, moderator=moderator())) == "item_decided"


def test_blocking_a_likeness_registers_the_figure_and_takes_the_clip_down(reported_post):
    decision = decide(reported_post, moderator(), "block_likeness", figure_name="Tom Hanks")

    figure = PublicFigure.objects.get(name="Tom Hanks")
    assert (figure.aliases, figure.active) == (["Tom Hanks"], True)
    assert Video.objects.get(id=reported_post.subject_id).state == "removed"
    entry = AuditEntry.objects.get(action="decision.block_likeness")
    assert entry.after["figure_id"] == str(figure.id)
    assert entry.after["face"]  # the face it took from the poster, or why none was added
    assert decision.appealable_until is not None


def test_a_comment_taken_down_is_hidden_with_its_replies_and_a_restore_brings_them_back(auth_client):
    comment = CommentFactory()
    reply = CommentFactory(parent=comment, video=comment.video)
    VideoStats.objects.filter(video_id=comment.video_id).update(comments=2)
    reader = auth_client(UserFactory())
    report(reader, "comment", comment.id, "harassment")
    item = open_item("comment", comment.id)

    decision = decide(item, moderator(), "take_down", reason_code="harassment")

    assert Comment.objects.filter(id__in=[comment.id, reply.id]).count() == 2  # kept, hidden
    assert VideoStats.objects.get(video_id=comment.video_id).comments == 0
    assert reader.get(f"/api/v1/comments/{comment.id}/replies").status_code == 404
    assert reader.get(f"/api/v1/videos/{comment.video_id}/comments").json()["results"] == []
    assert decision.affected_user_id == comment.author_id
    assert [n["kind"] for n in moderation_notices(comment.author)] == ["statement"]

    # Its author appeals and another moderator overturns the decision: both read and count again
    from moderation.appeals import appeal_decide, appeal_file

    appeal = appeal_file(decision_id=decision.id, appellant_id=comment.author_id, text="It was a joke.")
    reviewer = moderator()
    item_claim(item_id=appeal.item.id, moderator=reviewer)
    appeal_decide(item_id=appeal.item.id, moderator=reviewer, outcome="overturned", reason_text="Fine.")
    assert VideoStats.objects.get(video_id=comment.video_id).comments == 2
    replies = reader.get(f"/api/v1/comments/{comment.id}/replies").json()["results"]
    assert [r["id"] for r in replies] == [str(reply.id)]


def test_a_likeness_blocked_from_a_clips_poster_blocks_that_face_from_then_on(auth_client):
    # Given a reported clip whose poster shows a face nobody has registered
    from pathlib import Path

    from moderation.models import FigureFace
    from moderation.public import image_screen

    photo = (Path(__file__).parents[1] / "fixtures" / "faces" / "Tom_Hanks_54745.png").read_bytes()
    assert not image_screen(photo, purpose="avatar").blocked
    post = PostFactory()
    Video.objects.filter(id=post.id).update(poster="")
    post.refresh_from_db()
    post.poster.save("poster.png", ContentFile(photo))
    report(auth_client(UserFactory()), "video", post.id, "impersonation")

    # When a moderator blocks the likeness, naming the figure
    decide(
        open_item("video", post.id),
        moderator(),
        "block_likeness",
        "public_figure_likeness",
        figure_name="Tom Hanks",
    )

    # Then the poster's face is the figure's reference photo, and that face blocks from now on
    face = FigureFace.objects.get(figure__name="Tom Hanks")
    assert AuditEntry.objects.get(action="decision.block_likeness").after["face"] == str(face.id)
    assert image_screen(photo, purpose="avatar").blocked
