"""A moderator works the queue in headless Chromium, against the real ASGI server: logs in to the
admin, opens a reported video's item, claims it, reveals the media (blurred and muted until then),
takes the video down with a reason and finds the audit entry; a second moderator cannot claim the
item meanwhile (the page says it is claimed). The author appeals through the API, and a different
moderator claims the appeal, sees both sides and restores the video, which is posted again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.roles import MODERATORS, moderators_group_sync
from feed.models import Video
from tests.browser import chromium
from tests.factories import PASSWORD, UserFactory
from tests.feed.test_share_browser import off_the_loop, real_post

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def server(transactional_db, tmp_path):
    from tests.live import LiveStack

    (tmp_path / "mail").mkdir()
    stack = LiveStack(tmp_path / "mail", web_workers=1, worker=False).start()
    yield stack
    stack.stop()


def api(server: Any, user: Any) -> httpx.Client:
    token = RefreshToken.for_user(user).access_token
    return httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def moderator_page(browser: Any, server: Any, username: str) -> Any:
    """A fresh browser session logged in to the admin as `username`."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.goto(f"{server.base}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
    return page


def open_item(page: Any, server: Any, kind: str) -> None:
    page.goto(f"{server.base}/admin/")
    page.locator("#content-main").get_by_role("link", name="Queue items").click()
    page.goto(f"{page.url.split('?')[0]}?kind={kind}")
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_selector("#claim-state")


@pytest.fixture
def reported_post(server):
    """Moderators @ana and @ben; @author's real post, reported by @reporter through the API."""
    moderators_group_sync()
    group = Group.objects.get(name=MODERATORS)
    for name in ("ana", "ben"):
        moderator = UserFactory(username=name, is_staff=True)
        moderator.password = make_password(PASSWORD, hasher="pbkdf2_sha256")  # the live server's hashers
        moderator.save(update_fields=["password"])
        moderator.groups.add(group)
    author, reporter = UserFactory(username="author"), UserFactory(username="reporter")
    post = real_post(author, caption="the harbour at dusk")
    report = {"subject_kind": "video", "subject_id": str(post.id), "reason": "violence", "text": "real blood"}
    reported = api(server, reporter).post("/api/v1/reports", json=report)
    assert reported.status_code == 201, reported.text
    return post, author


def video_state(page: Any) -> dict[str, Any]:
    """The subject video's look and sound, as the moderator's browser has them."""
    return page.evaluate(
        """() => { const v = document.getElementById('subject-video');
        return {filter: getComputedStyle(v).filter, muted: v.muted, controls: v.controls}; }"""
    )


def claim_hidden_media(page: Any, server: Any) -> None:
    """Open the reported video's item: blurred and muted until revealed; claim it."""
    open_item(page, server, "report")
    assert "real blood" in page.inner_text("#reports")
    hidden = video_state(page)
    assert "blur" in hidden["filter"]
    assert (hidden["muted"], hidden["controls"]) == (True, False)
    page.click("#claim")
    page.wait_for_selector("text=You hold this item.")


def claim_refused(page: Any, item_url: str) -> None:
    page.goto(item_url)
    assert "Claimed by ana" in page.inner_text("#claim-state")
    page.click("#claim")
    page.wait_for_selector(".messagelist")
    assert "Another moderator is working on this item." in page.inner_text(".messagelist")
    assert "Claimed by ana" in page.inner_text("#claim-state")
    assert page.locator("#decision-form").count() == 0


def reveal_and_take_down(page: Any) -> None:
    page.click("#reveal")
    page.wait_for_function(  # the blur fades out
        "() => getComputedStyle(document.getElementById('subject-video')).filter === 'none'"
    )
    page.wait_for_function("() => document.getElementById('subject-video').readyState >= 1")  # it loads
    assert (video_state(page)["muted"], video_state(page)["controls"]) == (False, True)
    page.select_option("#id_action", "take_down")
    page.select_option("#id_reason_code", "graphic_violence")
    page.fill("#id_reason_text", "Real violence against a person.")
    page.click("#decide")
    page.wait_for_selector("text=Decided: Take Down")
    assert "decision.take_down" in page.inner_text("#history")


def audit_entry_read_only(page: Any, server: Any) -> None:
    page.goto(f"{server.base}/admin/moderation/auditentry/?action=decision.take_down")
    page.locator("#result_list tbody tr th a").first.click()
    assert "Real violence against a person." in page.inner_text("#content-main")
    assert page.locator("input[name=_save]").count() == 0


def appeal_overturned(page: Any, server: Any) -> None:
    open_item(page, server, "appeal")
    assert "Real violence against a person." in page.inner_text("#appeal-decision")
    assert "It is a staged scene with stunt actors." in page.inner_text("#appeal-text")
    page.click("#claim")
    page.wait_for_selector("text=You hold this item.")
    page.select_option("#id_outcome", "overturned")
    page.fill("#id_reason_text", "Staged: nobody is hurt.")
    page.click("#decide")
    page.wait_for_selector("text=Appeal overturned.")
    assert "appeal.overturned" in page.inner_text("#history")


def test_a_moderator_works_the_queue_and_another_restores_on_appeal(server, browser, reported_post):
    post, author = reported_post
    ana, ben = moderator_page(browser, server, "ana"), moderator_page(browser, server, "ben")

    claim_hidden_media(ana, server)
    claim_refused(ben, item_url=ana.url)  # Ben cannot take it from her: the page says it is claimed
    reveal_and_take_down(ana)
    assert off_the_loop(lambda: Video.objects.get(id=post.id).state) == Video.State.REMOVED
    audit_entry_read_only(ana, server)
    assert ana.evaluate("window.__csp") == []

    with api(server, author) as client:  # the author appeals through the API
        (decision,) = client.get("/api/v1/moderation/decisions").json()["results"]
        appealed = client.post(
            f"/api/v1/moderation/decisions/{decision['id']}/appeal",
            json={"text": "It is a staged scene with stunt actors."},
        )
    assert appealed.status_code == 201, appealed.text
    appeal_overturned(ben, server)  # a different moderator sees both sides and restores the video

    assert off_the_loop(lambda: Video.objects.get(id=post.id).state) == Video.State.POSTED
    assert httpx.get(f"{server.base}/v/{post.id}").status_code == 200
