"""Reports through the API: one per reporter and object, folded into one queue item per object,
routed by the worst reason, scored by severity, reporters, reach and age."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from moderation.models import AuditEntry, QueueItem, Report
from moderation.queue import items_ordered, priority_now
from tests.factories import (
    BlockFactory,
    CommentFactory,
    FollowFactory,
    PostFactory,
    UserFactory,
    VideoFactory,
)
from tests.moderation.casework import open_item, report

pytestmark = pytest.mark.django_db


def code_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_a_report_opens_a_queue_item_in_the_queue_of_its_reason(auth_client):
    # Given Ann's post and Bob, who can see it
    ann, bob = UserFactory(), UserFactory()
    post = PostFactory(owner=ann)

    # When Bob reports it as graphic violence
    answer = report(auth_client(bob), "video", post.id, "violence", "  someone gets hurt at 0:03  ")

    # Then his report is stored and one item waits in the violence queue, scored, naming Ann
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["subject_kind"], body["subject_id"], body["reason"]) == ("video", str(post.id), "violence")
    assert (body["text"], body["outcome_told"]) == ("someone gets hurt at 0:03", False)
    item = open_item("video", post.id)
    assert (item.queue, item.severity, item.reports_count, item.state) == ("violence", 7, 1, "open")
    assert item.subject_owner_id == ann.id
    assert item.priority == pytest.approx(70 + 8)  # 10 * severity + 8 * log2(2) + 3 * log10(1 + reach 0)
    entry = AuditEntry.objects.get(action="report.file", subject_id=str(post.id))
    assert (entry.actor_id, entry.actor, entry.reason_code) == (bob.id, bob.username, "violence")
    assert entry.before["reports_count"] == 0
    assert entry.after["reports_count"] == 1


def test_reporting_the_same_thing_again_answers_the_first_report_unchanged(auth_client):
    bob, post = UserFactory(), PostFactory()
    first = report(auth_client(bob), "video", post.id, "spam", "ad")

    again = report(auth_client(bob), "video", post.id, "sexual_minors", "actually worse")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    item = open_item("video", post.id)
    assert (item.reports_count, item.queue, item.severity) == (1, "spam", 1)
    assert Report.objects.filter(subject_id=post.id).count() == 1


def test_reports_of_one_object_fold_into_one_item_and_its_worst_reason_routes_it(auth_client):
    post = PostFactory()
    scores = []
    for reason in ("spam", "hate", "sexual_minors", "harassment"):
        assert report(auth_client(UserFactory()), "video", post.id, reason).status_code == 201
        scores.append(open_item("video", post.id).priority)

    item = QueueItem.objects.get(subject_id=post.id)  # one item, whatever the reasons
    assert (item.reports_count, item.queue, item.severity) == (4, "minors", 10)
    assert item.reports.count() == 4
    assert scores == sorted(scores)
    assert len(set(scores)) == 4


@pytest.mark.parametrize(
    ("reason", "queue"),
    [
        ("sexual_minors", "minors"),
        ("impersonation", "likeness"),
        ("cameo_misuse", "likeness"),
        ("violence", "violence"),
        ("extremism", "violence"),
        ("sexual", "sexual"),
        ("hate", "hate"),
        ("harassment", "hate"),
        ("self_harm", "self_harm"),
        ("spam", "spam"),
        ("misleading", "general"),
        ("other", "general"),
    ],
)
def test_a_reason_routes_to_its_queue(auth_client, reason, queue):
    post = PostFactory()
    assert report(auth_client(UserFactory()), "video", post.id, reason).status_code == 201
    assert open_item("video", post.id).queue == queue


def test_comments_and_members_are_reported_as_their_author_and_themselves(auth_client):
    bob, carl = UserFactory(), UserFactory()
    comment = CommentFactory(author=carl)
    FollowFactory(follower=bob, followee=carl)
    FollowFactory(follower=UserFactory(), followee=carl)

    assert report(auth_client(bob), "comment", comment.id, "harassment").status_code == 201
    assert report(auth_client(bob), "user", carl.id, "impersonation").status_code == 201

    assert open_item("comment", comment.id).subject_owner_id == carl.id
    member_item = open_item("user", carl.id)
    assert (member_item.subject_owner_id, member_item.queue, member_item.reach) == (carl.id, "likeness", 2)


def test_no_one_reports_themselves_or_what_they_made(auth_client):
    ann = UserFactory()
    own_post, own_comment = PostFactory(owner=ann), CommentFactory(author=ann)

    for kind, subject_id in (("video", own_post.id), ("comment", own_comment.id), ("user", ann.id)):
        assert code_of(report(auth_client(ann), kind, subject_id)) == (400, "report_own")
    assert not QueueItem.objects.exists()


def test_what_the_reporter_may_not_see_is_not_found(auth_client):
    ann, bob = UserFactory(), UserFactory()
    blocked_post = PostFactory()
    BlockFactory(blocker=blocked_post.owner, blocked=bob)
    hidden = {
        "someone's draft": ("video", VideoFactory(owner=ann).id),
        "a post by someone who blocked me": ("video", blocked_post.id),
        "a comment by someone who blocked me": ("comment", CommentFactory(author=blocked_post.owner).id),
        "a member who blocked me": ("user", blocked_post.owner_id),
        "a deactivated member": ("user", UserFactory(is_active=False).id),
        "nothing at all": ("video", uuid.uuid4()),
        "a cameo (no handler until the cameos app registers one)": ("cameo", uuid.uuid4()),
    }
    for label, (kind, subject_id) in hidden.items():
        assert code_of(report(auth_client(bob), kind, subject_id)) == (404, "subject_not_found"), label
    assert not QueueItem.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"subject_kind": "video", "subject_id": "x", "reason": "spam"},
        {"subject_kind": "planet", "subject_id": str(uuid.uuid4()), "reason": "spam"},
        {"subject_kind": "video", "subject_id": str(uuid.uuid4()), "reason": "boring"},
        {"subject_kind": "video", "subject_id": str(uuid.uuid4()), "reason": "spam", "text": "x" * 1001},
        {"subject_kind": "video", "subject_id": str(uuid.uuid4()), "reason": "spam", "extra": 1},
    ],
    ids=["bad-id", "bad-kind", "bad-reason", "text-too-long", "unknown-field"],
)
def test_a_malformed_report_is_refused_with_a_field_error(auth_client, body):
    answer = auth_client(UserFactory()).post("/api/v1/reports", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] in {"invalid_input", "unknown_field"}


def test_reporting_needs_an_account(api):
    assert report(api, "video", PostFactory().id).status_code == 401


def test_reach_raises_the_score_and_waiting_raises_it_over_time(auth_client, settings):
    settings.MODERATION_AGE_WEIGHT_PER_H = 1.0
    quiet, viral = PostFactory(), PostFactory()
    viral.stats.views, viral.stats.likes = 100_000, 900
    viral.stats.save()
    for post in (quiet, viral):
        report(auth_client(UserFactory()), "video", post.id, "spam")
    spam_quiet, spam_viral = open_item("video", quiet.id), open_item("video", viral.id)
    assert spam_viral.priority > spam_quiet.priority  # same reason and reporters, more reach

    # A fresh report of violence comes first ...
    grave_post = PostFactory()
    report(auth_client(UserFactory()), "video", grave_post.id, "violence")
    grave = open_item("video", grave_post.id)
    assert next(iter(items_ordered().values_list("id", flat=True))) == grave.id

    # ... until the quiet spam report has waited long enough (its score grows by itself)
    hours = grave.priority - spam_quiet.priority + 1
    QueueItem.objects.filter(id=spam_quiet.id).update(created_at=timezone.now() - timedelta(hours=hours))
    spam_quiet.refresh_from_db()
    assert priority_now(spam_quiet) > priority_now(grave)
    assert next(iter(items_ordered().values_list("id", flat=True))) == spam_quiet.id


def test_reports_are_rate_limited_per_member(auth_client, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(
        ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, "report": "2/min"}
    )
    bob, other = auth_client(UserFactory()), auth_client(UserFactory())
    posts = PostFactory.create_batch(3)

    codes = [report(bob, "video", post.id, "spam").status_code for post in posts]

    assert codes == [201, 201, 429]
    assert code_of(report(bob, "video", posts[2].id, "spam")) == (429, "rate_limited")
    assert report(other, "video", posts[2].id, "spam").status_code == 201  # each member has their own
