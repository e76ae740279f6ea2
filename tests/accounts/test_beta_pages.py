"""The beta signup pages, end to end in headless Chromium on a phone-sized screen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User, WaitlistEntry
from tests.browser import chromium
from tests.factories import PASSWORD, InviteFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def phone(browser, tmp_path):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    yield page
    page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
    context.close()


def test_join_the_waitlist(phone, live_server):
    phone.goto(f"{live_server.url}/beta/")
    phone.get_by_label("Email").fill("phone.person@example.com")
    phone.get_by_role("button", name="Get on the list").click()
    phone.wait_for_selector("#done")
    assert "You're on the list" in phone.inner_text("#done")
    assert WaitlistEntry.objects.filter(email="phone.person@example.com").exists()
    # The page fits a phone: nothing overflows sideways
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_redeem_an_invite_and_create_an_account(phone, live_server):
    invite = InviteFactory()
    phone.goto(f"{live_server.url}/beta/invite/")
    phone.get_by_label("Code").fill(invite.display_code.lower().replace("-", " "))  # as people type it
    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_selector("text=is good")

    phone.get_by_label("Username").fill("PhoneUser")
    phone.get_by_label("Display name").fill("Phone User")
    phone.get_by_label("Email").fill("phone.user@example.com")
    phone.get_by_label("Birthdate").fill("2001-02-03")
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Create my account").click()

    phone.wait_for_selector("#welcome")
    assert "@phoneuser" in phone.inner_text("#welcome")
    user = User.objects.get(username="phoneuser")
    assert user.check_password(PASSWORD)
    codes = phone.locator("ul.codes li").all_inner_texts()
    assert sorted(codes) == sorted(i.display_code for i in user.invites_created.all())
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_form_errors_are_shown_and_nothing_is_spent(phone, live_server):
    invite = InviteFactory()
    UserFactory(username="taken")
    phone.goto(f"{live_server.url}/beta/invite/{invite.display_code}/")
    phone.get_by_label("Username").fill("taken")
    phone.get_by_label("Email").fill("kid@example.com")
    phone.get_by_label("Birthdate").fill((timezone.localdate() - timedelta(days=365 * 10)).isoformat())
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Create my account").click()
    phone.wait_for_selector("[role=alert]")
    assert "at least 13" in phone.inner_text("form")
    invite.refresh_from_db()
    assert invite.redeemed_at is None


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(
            lambda: InviteFactory(redeemed_at=timezone.now(), redeemed_by=UserFactory()),
            "already been used",
            id="used",
        ),
        pytest.param(
            lambda: InviteFactory(expires_at=timezone.now() - timedelta(days=1)), "has expired", id="expired"
        ),
    ],
)
def test_dead_invites_say_why(phone, live_server, make, expected):
    invite = make()
    phone.goto(f"{live_server.url}/beta/invite/{invite.display_code}/")
    assert expected in phone.inner_text("#problem")


def csp_violations(page) -> list[str]:
    """Collect the page's CSP violations (console reports and securitypolicyviolation events)."""
    found: list[str] = []
    page.on(
        "console", lambda message: "Content Security Policy" in message.text and found.append(message.text)
    )
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    return found


@pytest.mark.parametrize(
    "path",
    [
        "/beta/",
        "/beta/invite/",
        "/admin/login/",
        "/admin/",
        "/admin/accounts/user/",
        "/admin/generation/job/",
        "/api/docs/",
    ],
)
def test_every_page_sends_its_policies_and_breaks_none(browser, live_server, path):
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    context = browser.new_context()
    page = context.new_page()
    violations = csp_violations(page)
    if path.startswith("/admin/") and path != "/admin/login/":
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
    response = page.goto(f"{live_server.url}{path}")
    if path == "/api/docs/":
        page.wait_for_selector(".swagger-ui .info", timeout=15000)  # the docs rendered under the policy
    page.wait_for_load_state("networkidle")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "camera=()" in headers["permissions-policy"]
    assert violations == []
    assert page.evaluate("window.__csp") == []
    context.close()
