"""The moderators' desk in the admin, through Django's test client: the queue ordered by priority
with its filters, one item's page (media blurred and muted, reports, verdicts and registry matches,
notes), claim / release / decide as POSTs that call the services and show their refusals, appeals
with both sides reviewed by another moderator, the read-only audit log (superusers included) and
the dashboard's figures."""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import uuid4

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.utils import timezone

from accounts.roles import MODERATORS, moderators_group_sync
from feed.models import Video
from moderation.audit import audit_record
from moderation.dashboard import dashboard_figures
from moderation.errors import LIKENESS_PUBLIC_FIGURE
from moderation.likeness.screen import LikenessVerdict, Match
from moderation.likeness.screen import _record as screen_record
from moderation.models import Appeal, AuditEntry, Decision, Note, PublicFigure, QueueItem, Report
from moderation.reports import report_create
from tests.factories import CommentFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/moderation/queueitem/"


def desk_url(item) -> str:
    return f"{QUEUE}{item.id}/change/"


@pytest.fixture
def make_moderator():
    moderators_group_sync()
    group = Group.objects.get(name=MODERATORS)

    def make(username: str):
        user = UserFactory(username=username, is_staff=True)
        user.groups.add(group)
        return user

    return make


@pytest.fixture
def reported(db):
    """A posted video by @author, reported by @reporter for graphic violence."""
    author, reporter = UserFactory(username="author"), UserFactory(username="reporter")
    post = PostFactory(owner=author, caption="a bar fight, for real")
    receipt = report_create(
        reporter_id=reporter.id,
        subject_kind="video",
        subject_id=post.id,
        reason=Report.Reason.VIOLENCE,
        text="someone gets really hurt at 0:03",
    )
    return receipt.report.item, post, author


def login(client, user):
    client.force_login(user)
    return client


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def take_down(client, item, **overrides):
    form = {
        "action": "take_down",
        "reason_code": "graphic_violence",
        "reason_text": "Real violence against a person.",
        **overrides,
    }
    return client.post(f"{QUEUE}{item.id}/decide/", form, follow=True)


def test_the_queue_is_ordered_by_priority_raised_by_age_and_filters_by_queue(client, make_moderator):
    now = timezone.now()
    urgent = QueueItem.objects.create(
        subject_kind="video", subject_id=PostFactory().id, queue="minors", priority=100, summary="urgent one"
    )
    old_spam = QueueItem.objects.create(
        subject_kind="video", subject_id=PostFactory().id, queue="spam", priority=18, summary="old spam"
    )
    QueueItem.objects.create(
        subject_kind="video", subject_id=PostFactory().id, queue="spam", priority=20, summary="fresh spam"
    )
    # Waiting 72 hours adds 72 at the default weight: the old spam passes the fresh one and the urgent one
    QueueItem.objects.filter(id=old_spam.id).update(created_at=now - timedelta(hours=90))
    client = login(client, make_moderator("mod"))

    page = client.get(QUEUE).content.decode()
    order = [page.index(name) for name in ("old spam", "urgent one", "fresh spam")]
    assert order == sorted(order)
    spam = client.get(QUEUE, {"queue": "spam"}).content.decode()
    assert "old spam" in spam
    assert "fresh spam" in spam
    assert "urgent one" not in spam
    assert "urgent one" in client.get(QUEUE, {"state": "open", "kind": "report"}).content.decode()
    assert client.get(f"{QUEUE}add/").status_code == 403
    assert urgent.state == "open"


def test_the_item_page_shows_the_video_blurred_and_muted_with_reports_and_verdicts(
    client, make_moderator, reported
):
    item, post, _ = reported
    figure = PublicFigure.objects.create(name="Tom Hanks", roles=["Forrest Gump"])
    # What the clip screen records (its own recorder, so this page reads the real shape)
    face = Match(kind="face", figure_id=figure.id, distance=0.41, frame=3, time_s=1.5, box=(10, 20, 90, 100))
    verdict = LikenessVerdict(blocked=True, error=LIKENESS_PUBLIC_FIGURE, matches=(face,), faces=1, frames=8)
    # The screening judged the clip before the video existed: the verdict names the video's job
    job_id = uuid4()
    Video.objects.filter(id=post.id).update(source_job_id=job_id)
    screen_record("screen.clip", "job", job_id, verdict)
    client = login(client, make_moderator("mod"))

    page = client.get(desk_url(item)).content.decode()

    video = re.search(r'<video id="subject-video"[^>]*>', page).group(0)
    assert 'class="sensitive"' in video
    assert " muted" in video
    assert "controls" not in video
    assert "/media/signed/" in video  # the owner app's signed link, as a moderator sees it
    assert 'id="reveal"' in page
    assert "moderation/desk.js" in page
    assert 'data-time="1.5"' in page  # the frame the screening matched, as a still
    assert "face frame 3 at 1.5 s box 10,20,90,100 (d 0.410)" in page
    assert "someone gets really hurt at 0:03" in page
    assert "Graphic violence: 1" in page
    assert "screen.clip" in page
    assert "likeness_public_figure" in page
    assert "Tom Hanks" in page
    assert "Forrest Gump" in page
    assert "Open: nobody holds it." in page
    assert 'id="claim"' in page
    assert 'id="decision-form"' not in page


def test_a_moderator_claims_and_takes_down_a_reported_video(
    client, make_moderator, reported, django_capture_on_commit_callbacks
):
    item, post, author = reported
    client = login(client, make_moderator("mod"))

    claimed = client.post(f"{QUEUE}{item.id}/claim/", follow=True)
    assert "You hold this item." in claimed.content.decode()
    assert 'id="decision-form"' in claimed.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        decided = take_down(client, item)

    assert decided.status_code == 200
    assert any("Decided" in message for message in said(decided))
    post.refresh_from_db()
    item.refresh_from_db()
    assert (post.state, item.state) == (Video.State.REMOVED, "decided")
    decision = Decision.objects.get(item=item)
    assert (decision.action, decision.reason_code, decision.affected_user_id) == (
        "take_down",
        "graphic_violence",
        author.id,
    )
    page = decided.content.decode()
    assert "decision.take_down" in page  # the audit trail on the item's page
    entry = AuditEntry.objects.get(action="decision.take_down", subject_id=str(post.id))
    assert (entry.actor, entry.reason) == ("mod", "Real violence against a person.")
    assert client.get(f"/admin/moderation/auditentry/{entry.id}/change/").status_code == 200


def test_a_second_moderator_cannot_claim_or_decide_a_claimed_item(client, make_moderator, reported):
    item, post, _ = reported
    first, second = make_moderator("first"), make_moderator("second")
    login(client, first).post(f"{QUEUE}{item.id}/claim/")

    client = login(client, second)
    refused = client.post(f"{QUEUE}{item.id}/claim/", follow=True)
    assert "Another moderator is working on this item. (item_claimed)" in said(refused)
    assert "Claimed by first." in refused.content.decode()
    decided = take_down(client, item)
    assert decided.status_code == 400
    assert any("item_not_claimed" in message for message in said(decided))
    released = client.post(f"{QUEUE}{item.id}/release/", follow=True)
    assert any("item_not_claimed" in message for message in said(released))
    item.refresh_from_db()
    post.refresh_from_db()
    assert (item.claimed_by_id, item.state, post.state) == (first.id, "claimed", Video.State.POSTED)
    assert not Decision.objects.exists()


def test_release_gives_the_item_back_and_buttons_refuse_get(client, make_moderator, reported):
    item, _, _ = reported
    client = login(client, make_moderator("mod"))
    client.post(f"{QUEUE}{item.id}/claim/")
    assert client.get(f"{QUEUE}{item.id}/claim/").status_code == 403  # buttons are POSTs only
    assert client.post(desk_url(item), {"state": "decided"}).status_code == 405  # no form saves the item

    client.post(f"{QUEUE}{item.id}/release/")

    item.refresh_from_db()
    assert (item.state, item.claimed_by_id) == ("open", None)
    assert list(
        AuditEntry.objects.filter(subject_id=str(item.subject_id)).values_list("action", flat=True)[:2]
    ) == [
        "item.release",
        "item.claim",
    ]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"reason_text": ""}, "reason_text"),
        ({"reason_code": "made_up"}, "reason_code"),
        ({"action": "block_likeness", "figure_name": ""}, "figure_name"),
        ({"action": "label"}, "labels"),
    ],
    ids=["no-reason-text", "unknown-code", "likeness-without-name", "label-without-labels"],
)
def test_a_decision_needs_its_reason_and_its_details(client, make_moderator, reported, form, field):
    item, post, _ = reported
    client = login(client, make_moderator("mod"))
    client.post(f"{QUEUE}{item.id}/claim/")

    refused = take_down(client, item, **form)

    assert refused.status_code == 400
    assert re.search(
        rf'id="id_{field}_error"|<ul class="errorlist"[^>]*id="id_{field}_error"', refused.content.decode()
    )
    post.refresh_from_db()
    assert not Decision.objects.exists()
    assert post.state == Video.State.POSTED


def test_notes_are_added_by_moderators_only(client, make_moderator, reported):
    item, _, _ = reported
    client = login(client, make_moderator("mod"))
    page = client.post(f"{QUEUE}{item.id}/note/", {"text": "looks staged, check the audio"}, follow=True)
    assert "looks staged, check the audio" in page.content.decode()
    assert Note.objects.get(item=item).author.username == "mod"

    plain_staff = UserFactory(username="staffer", is_staff=True)
    client = login(client, plain_staff)
    assert client.get(QUEUE).status_code == 403
    assert client.get(desk_url(item)).status_code == 403
    assert client.post(f"{QUEUE}{item.id}/note/", {"text": "x"}).status_code == 403
    assert client.post(f"{QUEUE}{item.id}/claim/").status_code == 403
    assert Note.objects.count() == 1


def test_an_appeal_shows_both_sides_and_another_moderator_restores_the_video(
    client, make_moderator, reported, auth_client, django_capture_on_commit_callbacks
):
    item, post, author = reported
    decider, reviewer = make_moderator("decider"), make_moderator("reviewer")
    login(client, decider).post(f"{QUEUE}{item.id}/claim/")
    with django_capture_on_commit_callbacks(execute=True):
        take_down(client, item)
    decision = Decision.objects.get(item=item)

    appealed = auth_client(author).post(
        f"/api/v1/moderation/decisions/{decision.id}/appeal",
        {"text": "It is a staged scene with stunt actors."},
        format="json",
    )
    assert appealed.status_code == 201
    appeal = Appeal.objects.get(id=appealed.json()["id"])
    appeal_item = QueueItem.objects.get(appeal=appeal)

    same = client.post(f"{QUEUE}{appeal_item.id}/claim/", follow=True)
    assert any("appeal_same_moderator" in message for message in said(same))
    client = login(client, reviewer)
    page = client.post(f"{QUEUE}{appeal_item.id}/claim/", follow=True).content.decode()
    assert "Real violence against a person." in page  # the moderator's side
    assert "It is a staged scene with stunt actors." in page  # the appellant's side
    assert 'name="outcome"' in page
    assert 'name="action"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            f"{QUEUE}{appeal_item.id}/decide/",
            {"outcome": "overturned", "reason_text": "The fight is staged; no one is hurt."},
            follow=True,
        )

    assert "Appeal overturned." in said(done)
    post.refresh_from_db()
    appeal.refresh_from_db()
    assert (post.state, appeal.outcome, appeal.reviewer_id) == (Video.State.POSTED, "overturned", reviewer.id)


# --- the audit log ---------------------------------------------------------------------------


def test_the_audit_log_is_read_only_for_a_superuser_too(client, make_moderator):
    entry = audit_record(action="screen.clip", subject_kind="job", subject_id="j1", reason_code="x")
    boss = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client = login(client, boss)
    base = "/admin/moderation/auditentry/"

    listing = client.get(base, {"q": "screen"})
    assert listing.status_code == 200
    assert "screen.clip" in listing.content.decode()
    assert listing.context["action_form"] is None  # no bulk actions, delete included
    change = client.get(f"{base}{entry.id}/change/")
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert client.post(f"{base}{entry.id}/change/", {"action": "edited", "reason": "x"}).status_code == 403
    assert client.get(f"{base}{entry.id}/delete/").status_code == 403
    assert client.post(f"{base}{entry.id}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    client.post(base, {"action": "delete_selected", "_selected_action": [entry.id], "post": "yes"})

    entry.refresh_from_db()
    assert (entry.action, entry.reason_code) == ("screen.clip", "x")
    moderator = login(client, make_moderator("mod"))
    assert moderator.get(f"{base}{entry.id}/change/").status_code == 200
    assert moderator.get(base, {"by": "system", "subject_kind": "job"}).status_code == 200


def test_the_audit_log_filters_by_action_actor_and_subject_kind(client, make_moderator):
    audit_record(
        action="screen.clip", subject_kind="job", subject_id="j1", reason_code="likeness_public_figure"
    )
    audit_record(
        action="item.claim", actor_id=UserFactory().id, actor="ann", subject_kind="video", subject_id="v1"
    )
    client = login(client, make_moderator("mod"))
    base = "/admin/moderation/auditentry/"

    def rows(**query) -> set[str]:
        return {entry.action for entry in client.get(base, query).context["cl"].result_list}

    assert rows(by="system") == {"screen.clip"}
    assert rows(by="human") == {"item.claim"}
    assert rows(subject_kind="video") == {"item.claim"}
    assert rows(action="screen.clip") == {"screen.clip"}
    assert rows(q="ann") == {"item.claim"}
    assert rows() == {"screen.clip", "item.claim"}


# --- the dashboard ---------------------------------------------------------------------------


def _decided_item(created_ago_s: float, took_s: float) -> QueueItem:
    created = timezone.now() - timedelta(seconds=created_ago_s)
    return QueueItem.objects.create(
        subject_kind="video",
        subject_id=PostFactory().id,
        state="decided",
        queue="violence",
        created_at=created,
        decided_at=created + timedelta(seconds=took_s),
    )


def _appeal(item: QueueItem, outcome: str) -> Appeal:
    decision = Decision.objects.create(
        item=item,
        action="take_down",
        reason_code="graphic_violence",
        reason_text="x",
        subject_kind="video",
        subject_id=item.subject_id,
    )
    return Appeal.objects.create(
        decision=decision, appellant=UserFactory(), text="no", outcome=outcome, decided_at=timezone.now()
    )


def test_the_dashboard_counts_medians_and_rates(client, make_moderator, reported):
    first = _decided_item(3600, 60)
    second = _decided_item(3600, 120)
    _decided_item(3600, 900)
    _decided_item(90 * 86400, 10)  # decided long ago: outside the 30-day window
    _appeal(first, "overturned")
    _appeal(second, "upheld")
    Appeal.objects.create(
        decision=Decision.objects.create(
            item=second,
            action="label",
            reason_code="hate",
            reason_text="x",
            subject_kind="video",
            subject_id=second.subject_id,
        ),
        appellant=UserFactory(),
        text="pending",
    )
    for code in ("likeness_public_figure", "", "", "moderation_unavailable"):
        audit_record(action="screen.clip", subject_kind="job", subject_id="j", reason_code=code)
    audit_record(action="text.refused", reason_code="text_refused")
    audit_record(action="registry.face_add", subject_kind="figure", subject_id="f")  # no verdict
    audit_record(action="item.claim", actor_id=UserFactory().id, actor="m", reason_code="not_a_verdict")

    figures = dashboard_figures(days=30)

    assert figures.decided == 3
    assert figures.median_decision_s == pytest.approx(120, abs=1)
    assert dashboard_figures(days=None).decided == 4
    assert (figures.appeals.part, figures.appeals.total, figures.appeals.rate) == (1, 2, 0.5)
    rates = {rate.label: (rate.part, rate.unavailable, rate.total) for rate in figures.block_rates}
    assert rates == {"screen.clip": (1, 1, 4), "text.refused": (1, 0, 1)}
    assert dict(figures.reports_by_reason) == {"Graphic violence": 1}
    queues = dict(figures.items_by_queue)
    assert queues["violence"] == {"open": 1, "claimed": 0, "decided": 3}

    client = login(client, make_moderator("mod"))
    page = client.get("/admin/moderation/dashboard/").content.decode()
    assert "2 min" in page
    assert "50.0 %" in page
    assert "25.0 %" in page
    assert "Graphic violence" in page
    assert 'href="/admin/moderation/dashboard/"' in client.get("/admin/").content.decode()
    everything = client.get("/admin/moderation/dashboard/", {"days": "all"}).content.decode()
    assert re.search(r'id="decided">(\d+)<', everything).group(1) == "4"


def test_the_dashboard_is_for_moderators_and_staff_with_the_queue(client):
    assert client.get("/admin/moderation/dashboard/").status_code == 302  # to the login
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/admin/moderation/dashboard/").status_code == 403
    assert 'href="/admin/moderation/dashboard/"' not in client.get("/admin/").content.decode()


@pytest.mark.parametrize("kind", ["comment", "user", "cameo"])
def test_items_on_other_subjects_show_what_their_app_describes(client, make_moderator, kind):
    """A comment's body, a member's page; a kind nobody handles yet (cameos) says so, never a 500."""
    author = UserFactory(username="writer")
    subjects = {
        "comment": lambda: CommentFactory(author=author, body="you are all idiots").id,
        "user": lambda: author.id,
        "cameo": uuid4,
    }
    subject_id = subjects[kind]()
    item = QueueItem.objects.create(subject_kind=kind, subject_id=subject_id, summary=f"a {kind}")
    page = login(client, make_moderator("mod")).get(desk_url(item))

    assert page.status_code == 200
    content = page.content.decode()
    assert 'id="subject-video"' not in content
    expected = {"comment": "you are all idiots", "user": "writer", "cameo": "No longer available"}[kind]
    assert expected in content


def test_the_buttons_need_the_csrf_token(make_moderator, reported):
    from django.test import Client

    item, _, _ = reported
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_moderator("mod"))
    page = client.get(desk_url(item)).content.decode()

    assert client.post(f"{QUEUE}{item.id}/claim/").status_code == 403
    item.refresh_from_db()
    assert item.state == "open"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert client.post(f"{QUEUE}{item.id}/claim/", {"csrfmiddlewaretoken": token}).status_code == 302
    item.refresh_from_db()
    assert item.state == "claimed"
