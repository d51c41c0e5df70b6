"""`make run` as a person sees it in Chromium, at desktop width and on a phone: the landing
page, the demo settings screen (connect, send a test email, disconnect, cancel), and the Google
sandbox's pages. Every page links home and fits the phone without sideways scrolling.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from gmail_oneclick.settings import Settings
from tests.browsing import Tab
from tests.conftest import mark_database
from tests.live import LiveServer

pytestmark = pytest.mark.browser

WIDTHS = ["tab", "phone"]  # the fixtures: desktop window, small phone
HOME_LINK = "gmail-oneclick home"


@pytest.fixture
def service(database_url: str, keyring_text: str, tmp_path: Path) -> Iterator[str]:
    """The service in sandbox mode (Google emulated and mounted inside), served on loopback."""
    from gmail_oneclick.entrypoints.web import EXTENSION, create_app

    server = LiveServer()
    mark_database(database_url, "sandbox")  # as `make run` migrates it
    app = create_app(Settings(database_url=database_url, encryption_keys=keyring_text,
                              sandbox=True, public_url=server.url,
                              instance_path=str(tmp_path / "instance"), http_timeout=5.0))
    server.serve(app)
    try:
        yield server.url
    finally:
        server.stop()
        app.extensions[EXTENSION].engine.dispose()


@pytest.fixture(params=WIDTHS)
def screen(request: pytest.FixtureRequest) -> Tab:
    tab: Tab = request.getfixturevalue(request.param)
    return tab


def assert_fits(tab: Tab) -> None:
    """No sideways scrolling: the page is no wider than the window."""
    scroll, client = tab.page.evaluate(
        "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert scroll <= client, f"{tab.page.url} is {scroll}px wide in a {client}px window"


def visit(tab: Tab, url: str, step: str) -> None:
    response = tab.page.goto(url)
    assert response is not None and response.status == 200, url
    tab.shot(step)
    assert_fits(tab)


def notice(tab: Tab) -> Any:
    return tab.page.get_by_role("status")


def to_google_consent(tab: Tab, service: str) -> None:
    """From the demo screen through "Connect Gmail" and the connect page to Google's screen."""
    page = tab.page
    page.get_by_role("button", name="Connect Gmail").click()
    page.wait_for_url(service + "/connect/**")
    page.get_by_role("button", name="Continue with Google").click()
    page.wait_for_url(service + "/_sandbox/google/o/oauth2/v2/auth?**")
    tab.shot("google-consent")
    assert_fits(tab)


def test_the_landing_page_says_what_this_is_and_where_to_go(screen: Tab, service: str) -> None:
    page = screen.page
    visit(screen, service + "/", "landing")
    expect(page.get_by_role("heading", level=1)).to_have_text("gmail-oneclick")
    main = page.locator("main")
    expect(main).to_contain_text(re.compile(r"Version \d+\.\d+"))
    expect(main).to_contain_text("Ready to serve")
    expect(main).to_contain_text("The database answers.")
    expect(main).to_contain_text("The encryption keyring is loaded.")
    page.get_by_role("link", name="API reference").click()
    expect(page).to_have_url(service + "/docs")
    page.go_back()
    page.get_by_role("link", name="Demo").click()
    expect(page).to_have_url(service + "/_demo")
    page.go_back()
    page.get_by_role("link", name="Google emulator").click()
    expect(page).to_have_url(service + "/_sandbox/google/")
    assert screen.unexpected_console_errors() == []


def test_the_demo_connects_sends_a_test_email_and_disconnects_in_words(
    screen: Tab, service: str
) -> None:
    page = screen.page
    visit(screen, service + "/_demo", "demo")
    expect(page.locator("main")).to_contain_text("No Gmail account is connected yet.")
    to_google_consent(screen, service)
    page.get_by_role("radio", name="alice@example.com").check()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(service + "/_demo/return?**")
    screen.shot("connected")
    assert_fits(screen)
    expect(notice(screen)).to_contain_text("Connected as alice@example.com: this site can now")
    expect(notice(screen)).to_contain_text("Next: Send a test email to check it.")
    expect(page.locator("section.connection .status")).to_have_text(
        "Connected as alice@example.com")

    page.get_by_label("Message (optional").fill("Hello from the browser test")
    page.get_by_role("button", name="Send test email").click()
    expect(notice(screen)).to_contain_text(
        re.compile(r"A test email was sent from alice@example\.com to itself; Gmail gave it the "
                   r"id \w+\."))
    screen.shot("test-sent")
    assert_fits(screen)

    page.get_by_text("Raw answer of GET /v1/connections").click()  # the JSON, folded away
    expect(page.locator("pre.raw")).to_contain_text('"status": "connected"')
    screen.shot("raw-json")
    assert_fits(screen)

    page.get_by_role("button", name="Disconnect").click()
    expect(notice(screen)).to_contain_text(
        "alice@example.com was disconnected: its Google tokens are deleted")
    expect(notice(screen)).to_contain_text("Next: Click “Connect Gmail”")
    expect(page.locator("section.connection .status")).to_have_text(
        "Disconnected: alice@example.com — connect again to send")
    expect(page.get_by_role("button", name="Send test email")).to_have_count(0)
    screen.shot("disconnected")
    assert_fits(screen)
    assert screen.unexpected_console_errors() == []


def test_cancel_at_google_says_nothing_was_connected_and_what_to_do(
    phone: Tab, service: str
) -> None:
    visit(phone, service + "/_demo", "demo")
    to_google_consent(phone, service)
    phone.page.get_by_role("button", name="Cancel").click()
    phone.page.wait_for_url(service + "/_demo/return?**")
    phone.shot("cancelled")
    assert_fits(phone)
    expect(notice(phone)).to_contain_text(
        "Nothing was connected because the Google consent screen was cancelled.")
    expect(notice(phone)).to_contain_text("Next: Click “Connect Gmail” again and choose Allow.")
    expect(phone.page.locator("main")).not_to_contain_text("access_denied")
    assert phone.unexpected_console_errors() == []


def test_the_sandbox_pages_name_the_app_link_home_and_fit(screen: Tab, service: str) -> None:
    page = screen.page
    visit(screen, service + "/_demo", "demo")
    to_google_consent(screen, service)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "gmail-oneclick (sandbox) wants to access your Google Account")
    expect(page.locator("main")).to_contain_text("See your primary Google Account email address")
    expect(page.get_by_role("checkbox", name="Send email on your behalf")).to_be_checked()
    expect(page.get_by_role("link", name=HOME_LINK)).to_have_attribute("href", service + "/")
    page.get_by_role("radio", name="alice@example.com").check()
    page.get_by_role("button", name="Allow").click()
    page.get_by_role("button", name="Send test email").click()  # a grant and a sent message
    expect(notice(screen)).to_contain_text("A test email was sent")
    google = service + "/_sandbox/google"
    for path, step, heading in (
        ("/", "sandbox-home", "Google sandbox"),
        ("/myaccount/permissions", "permissions", "Third-party apps with account access"),
        ("/_sandbox/gmail/sent", "sent-mail", "Sent mail"),
        ("/_sandbox/risc", "security-events", "Security events (Cross-Account Protection)"),
    ):
        visit(screen, google + path, step)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_role("link", name=HOME_LINK)).to_have_attribute("href", service + "/")
        if step == "sent-mail":  # told apart without content: time, account, count, size, id
            expect(page.locator("ol.sent li")).to_contain_text(
                re.compile(r"UTC\s+sent by alice@example\.com\s+1 recipient ·\s+[\d.]+ \w+ "
                           r"\(\d+ bytes\) ·\s+json upload\s+Gmail id \w+"))
            expect(page.locator("main")).not_to_contain_text("Hello")
    page.get_by_role("link", name=HOME_LINK).click()
    expect(page).to_have_url(service + "/")
    assert screen.unexpected_console_errors() == []
