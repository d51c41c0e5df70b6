"""The consent pages as a site admin sees them in Chromium: from the WordPress plugin's
"Connect Gmail" link, through Google's (the sandbox's) consent screen, back to WordPress.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SITE_NAME, Live, Tab
from tests.browsing import PHONE_WIDTH
from tests.conftest import RegisteredSite, register_site

pytestmark = pytest.mark.browser

CONTINUE = "Continue with Google"
SEND_BOX = re.compile("Send email on your behalf")
START_AGAIN = "Go back to your site and click “Connect Gmail” again"


def returned_params(tab: Tab, live: Live) -> dict[str, str]:
    """The query the WordPress page got, read from the page itself and checked against its URL."""
    page = tab.page
    assert page.url.startswith(live.return_url + "&"), page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("WordPress admin: Gmail connection")
    shown = {
        row.locator("th").inner_text(): row.locator("td").inner_text()
        for row in page.locator("tr").all()
    }
    in_url = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert shown == in_url
    return shown


def assert_our_page(response: Any, status: int) -> None:
    """One of the service's pages, with the CSP in force (so a quiet console means something)."""
    assert response is not None and response.status == status
    assert "default-src 'none'" in response.headers["content-security-policy"]


def open_connect_page(tab: Tab, live: Live, site: RegisteredSite | None = None,
                      **link: str) -> str:
    connect_url = live.new_link(site, **link)
    assert_our_page(tab.page.goto(connect_url), 200)
    tab.shot("connect")
    return connect_url


def continue_to_google(tab: Tab, live: Live) -> None:
    tab.page.get_by_role("button", name=CONTINUE).click()
    tab.page.wait_for_url(live.sandbox.url + "/o/oauth2/v2/auth?**")
    expect(tab.page.get_by_role("heading", level=1)).to_contain_text(
        "wants to access your Google Account")
    tab.shot("google-consent")


def allow_at_google(tab: Tab, email: str, *, send_email: bool = True) -> None:
    page = tab.page
    page.get_by_role("radio", name=email).check()
    if not send_email:
        page.get_by_role("checkbox", name=SEND_BOX).uncheck()
    tab.shot("google-choices")
    page.get_by_role("button", name="Allow").click()


def test_admin_connects_gmail_and_lands_back_on_wordpress_connected(
    tab: Tab, live: Live
) -> None:
    page = tab.page
    open_connect_page(tab, live, login_hint="alice@example.com")
    expect(page).to_have_title(re.compile(f"Connect Gmail to {SITE_NAME}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Connect Gmail to {SITE_NAME}")
    expect(page.locator("main")).to_contain_text(f"{SITE_NAME} at {live.wordpress} wants")
    expect(page.locator("main")).to_contain_text("Google account: alice@example.com")

    continue_to_google(tab, live)
    expect(page.get_by_role("radio", name="alice@example.com")).to_be_checked()  # the hint
    expect(page.get_by_role("checkbox", name=SEND_BOX)).to_be_checked()
    allow_at_google(tab, "alice@example.com")

    page.wait_for_url(live.return_url + "&**")
    tab.shot("wordpress-return")
    params = returned_params(tab, live)
    assert params["gmail_oneclick"] == "connected"
    assert params["page"] == "gmail"
    listed = live.connections()
    assert [(c["id"], c["email"], c["status"]) for c in listed] == [
        (params["connection_id"], "alice@example.com", "connected")
    ]
    assert tab.unexpected_console_errors() == []


def test_unticking_send_email_explains_and_returns_with_scope_missing(
    tab: Tab, live: Live
) -> None:
    page = tab.page
    open_connect_page(tab, live)
    continue_to_google(tab, live)
    with page.expect_navigation(url=re.compile(r"/oauth2/callback\?")) as callback:
        allow_at_google(tab, "bob@example.com", send_email=False)
    assert_our_page(callback.value, 200)
    tab.shot("scope-missing")
    expect(page.get_by_role("heading", level=1)).to_have_text("One permission is missing")
    expect(page.get_by_role("alert")).to_contain_text("Send email on your behalf")
    expect(page.get_by_role("alert")).to_contain_text("Nothing was stored")

    page.get_by_role("link", name=f"Back to {SITE_NAME}").click()
    page.wait_for_url(live.return_url + "&**")
    tab.shot("wordpress-return")
    params = returned_params(tab, live)
    assert (params["gmail_oneclick"], params["reason"]) == ("error", "scope_missing")
    assert "connection_id" not in params
    assert live.connections() == []
    assert tab.unexpected_console_errors() == []


def test_cancel_at_google_returns_to_wordpress_with_access_denied(
    tab: Tab, live: Live
) -> None:
    page = tab.page
    open_connect_page(tab, live)
    continue_to_google(tab, live)
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(live.return_url + "&**")
    tab.shot("wordpress-return")
    params = returned_params(tab, live)
    assert (params["gmail_oneclick"], params["reason"]) == ("error", "access_denied")
    assert live.connections() == []
    assert tab.unexpected_console_errors() == []


def test_double_click_on_continue_still_reaches_google_and_connects(
    tab: Tab, live: Live
) -> None:
    open_connect_page(tab, live)
    posts: list[str] = []

    def slow_service(route: Any) -> None:
        # The service answers slowly, so a second click lands while the first is on its way.
        if route.request.method == "POST":
            posts.append(route.request.url)
            time.sleep(0.5)
        route.continue_()

    tab.page.route("**/connect/**", slow_service)
    tab.page.get_by_role("button", name=CONTINUE).dblclick()
    tab.page.wait_for_url(live.sandbox.url + "/o/oauth2/v2/auth?**")
    assert len(posts) == 1  # the single-use link is spent once
    tab.shot("google-consent")
    allow_at_google(tab, "alice@example.com")
    tab.page.wait_for_url(live.return_url + "&**")
    tab.shot("wordpress-return")
    assert returned_params(tab, live)["gmail_oneclick"] == "connected"
    assert tab.unexpected_console_errors() == []


def test_after_a_completed_flow_back_and_resubmit_say_start_again_from_the_site(
    tab: Tab, live: Live
) -> None:
    page = tab.page
    connect_url = open_connect_page(tab, live)
    stale = page.context.new_page()  # the same link left open in a second tab of this browser
    stale.goto(connect_url)
    continue_to_google(tab, live)
    allow_at_google(tab, "alice@example.com")
    page.wait_for_url(live.return_url + "&**")
    connected = returned_params(tab, live)["connection_id"]

    # Back to Google's screen and Allow again: the state is used; an error page, no redirect.
    page.go_back()
    page.wait_for_url(live.sandbox.url + "/o/oauth2/v2/auth?**")
    tab.shot("google-again")
    with page.expect_navigation(url=re.compile(r"/oauth2/callback\?")) as callback:
        allow_at_google(tab, "alice@example.com")
    assert_our_page(callback.value, 400)
    tab.shot("callback-replayed")
    expect(page.get_by_role("heading", level=1)).to_have_text("This sign-in cannot be completed")
    expect(page.get_by_role("alert")).to_contain_text(START_AGAIN)

    # Back past Google's screen to the connect page: the used link is a 410 page.
    page.go_back()
    assert_our_page(page.go_back(), 410)
    assert page.url == connect_url
    tab.shot("link-used")
    assert_start_again_page(page)

    # The stale tab's form submitted now: the same 410 page, not a stack trace.
    with stale.expect_navigation() as submitted:
        stale.get_by_role("button", name=CONTINUE).click()
    assert_our_page(submitted.value, 410)
    tab.shot("second-submit", stale)
    assert_start_again_page(stale)
    assert [c["id"] for c in live.connections()] == [connected]
    assert tab.unexpected_console_errors(400, 410) == []


def assert_start_again_page(page: Any) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("This link cannot be used")
    expect(page.get_by_role("alert")).to_contain_text(START_AGAIN)
    expect(page.locator("body")).not_to_contain_text("Traceback")


def no_sideways_scrolling(page: Any) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"page is {widths[0]}px wide in a {widths[1]}px viewport"


def test_the_pages_fit_a_phone_and_break_no_content_security_policy(
    phone: Tab, live: Live
) -> None:
    page = phone.page
    long_named = register_site(
        live.container, name="The Riverside Community Gardening Association Newsletter",
        origin=live.wordpress,
    )
    open_connect_page(phone, live, long_named,
                      login_hint="a.very.long.mailbox.name.for.testing@example.com")
    no_sideways_scrolling(page)
    button = page.get_by_role("button", name=CONTINUE)
    expect(button).to_be_in_viewport(ratio=1)
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH
    assert box["height"] >= 40, "the button should be big enough to tap"

    button.tap()
    page.wait_for_url(live.sandbox.url + "/o/oauth2/v2/auth?**")
    phone.shot("google-consent")
    with page.expect_navigation(url=re.compile(r"/oauth2/callback\?")) as callback:
        allow_at_google(phone, "bob@example.com", send_email=False)
    assert_our_page(callback.value, 200)
    phone.shot("scope-missing")
    no_sideways_scrolling(page)
    expect(page.get_by_role("link", name=re.compile("^Back to The Riverside"))).to_be_visible()

    assert_our_page(page.goto(live.url + "/connect/" + "x" * 43), 404)
    phone.shot("link-unknown")
    no_sideways_scrolling(page)
    assert phone.unexpected_console_errors(404) == []
