"""The plugin's settings screen in a real Chromium, as a site admin sees it: logging in to
WordPress, connecting through the emulated Google consent, cancelling it, a revoked account's
notice; at desktop width and at 390 px, where nothing may scroll sideways. Every state is kept
as a screenshot in test-output/screenshots/plugin_*.png with the other test screenshots.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browsing import Tab, _new_tab
from tests.wordpress.conftest import Service
from tests.wordpress.wp import ADMIN_USER

pytestmark = pytest.mark.browser
SETTINGS = "options-general.php?page=gmail-oneclick"
EMAIL = "alice@example.com"


@pytest.fixture
def desktop(chromium: Any, request: pytest.FixtureRequest) -> Any:
    yield from _new_tab(chromium, request, viewport={"width": 1280, "height": 900})


@pytest.fixture
def narrow(chromium: Any, request: pytest.FixtureRequest) -> Any:
    """The width of a common phone (390 px), touch and all."""
    yield from _new_tab(chromium, request, viewport={"width": 390, "height": 844},
                        device_scale_factor=2, is_mobile=True, has_touch=True)


def log_in(tab: Tab, service: Service) -> None:
    wordpress = service.wordpress
    tab.page.goto(wordpress.url + "/wp-login.php")
    tab.page.fill("#user_login", ADMIN_USER)
    tab.page.fill("#user_pass", wordpress.admin_password)
    tab.page.click("#wp-submit")
    tab.page.wait_for_url("**/wp-admin/**")
    tab.page.goto(wordpress.admin_url(SETTINGS))


def connect_in_browser(tab: Tab, *, allow: bool) -> None:
    """Connect Gmail → the service's page → Continue → Google's consent → Allow or Cancel."""
    page = tab.page
    page.get_by_role("button", name="Connect Gmail").click()
    tab.shot("service-connect-page")
    page.get_by_role("button", name="Continue with Google").click()
    if allow:
        page.get_by_label(EMAIL).check() if page.get_by_label(EMAIL).count() else \
            page.fill("input[name=other_email]", EMAIL)
        page.get_by_role("button", name="Allow").click()
    else:
        page.get_by_role("button", name="Cancel").click()
    page.wait_for_url("**/options-general.php?page=gmail-oneclick**")


def sideways_overflow(tab: Tab) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scrolling)."""
    width: int = tab.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    return width


def local_console_errors(tab: Tab) -> list[str]:
    """Console errors of pages on this machine. WordPress's admin bar asks gravatar.com for the
    admin's picture, which a machine without network cannot load: not ours to judge."""
    return [e for e in tab.unexpected_console_errors() if "gravatar.com" not in e]


def result_text(tab: Tab) -> str:
    return " ".join(tab.page.locator(".gmail-oneclick-result").all_inner_texts())


@pytest.mark.parametrize("width", ["desktop", "narrow"])
def test_plugin_connecting_shows_the_account_as_connected(service: Service, width: str,
                                                   request: pytest.FixtureRequest) -> None:
    tab: Tab = request.getfixturevalue(width)
    log_in(tab, service)
    tab.shot("not-connected")
    assert "No Gmail account is connected yet" in tab.page.inner_text("#gmail-oneclick-connections")
    connect_in_browser(tab, allow=True)
    tab.shot("connected")
    assert EMAIL in result_text(tab)
    connections = tab.page.inner_text("#gmail-oneclick-connections")
    assert EMAIL in connections and "Connected" in connections
    assert sideways_overflow(tab) == 0
    assert local_console_errors(tab) == []


@pytest.mark.parametrize("width", ["desktop", "narrow"])
def test_plugin_cancelled_consent_explains_what_to_do(service: Service, width: str,
                                               request: pytest.FixtureRequest) -> None:
    tab: Tab = request.getfixturevalue(width)
    log_in(tab, service)
    connect_in_browser(tab, allow=False)
    tab.shot("cancelled")
    assert "consent screen was cancelled" in result_text(tab)
    assert "access_denied" not in result_text(tab)  # a sentence, never the raw code
    assert service.connections() == []
    assert sideways_overflow(tab) == 0


@pytest.mark.parametrize("width", ["desktop", "narrow"])
def test_plugin_removed_access_shows_a_notice_with_reconnect(service: Service, width: str,
                                                      request: pytest.FixtureRequest) -> None:
    tab: Tab = request.getfixturevalue(width)
    log_in(tab, service)
    connect_in_browser(tab, allow=True)
    service.sandbox.remove_access(EMAIL)  # the account owner removes the app at Google
    service.deliver_webhooks()
    tab.page.goto(service.wordpress.admin_url(SETTINGS))
    tab.shot("revoked")
    notice = tab.page.locator(".gmail-oneclick-revoked-notice")
    assert notice.count() == 1
    assert EMAIL in notice.inner_text()
    assert notice.get_by_role("button", name="Reconnect").count() == 1
    assert "reconnect" in tab.page.inner_text("#gmail-oneclick-connections").lower()
    assert sideways_overflow(tab) == 0
    tab.page.goto(service.wordpress.admin_url("index.php"))
    tab.shot("dashboard-notice")
    assert tab.page.locator(".gmail-oneclick-revoked-notice").count() == 1


@pytest.mark.parametrize("width", ["desktop", "narrow"])
def test_plugin_service_down_is_a_sentence_not_a_blank_screen(service: Service, width: str,
                                                       request: pytest.FixtureRequest) -> None:
    tab: Tab = request.getfixturevalue(width)
    service.wordpress.php("""
        $s = get_option('gmail_oneclick_settings');
        $s['service_url'] = 'http://127.0.0.1:9';
        update_option('gmail_oneclick_settings', $s);
    """)
    log_in(tab, service)
    tab.shot("service-down")
    problem = tab.page.inner_text("#gmail-oneclick-connections")
    assert "could not be reached" in problem or "not reachable" in problem.lower(), problem
    assert sideways_overflow(tab) == 0
