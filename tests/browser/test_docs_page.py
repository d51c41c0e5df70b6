"""The API reference at /docs as a developer reads it in Chromium, on a desktop window and on a
390 px phone: no sideways scrolling, no CSP complaint, nothing fetched from another origin."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live, Tab

pytestmark = pytest.mark.browser

WIDEST_ELEMENT = ("Math.max(...[...document.querySelectorAll('body *')]"
                  ".map(e => e.getBoundingClientRect().right))")
SCROLLS_SIDEWAYS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


def read_docs(tab: Tab, live: Live) -> list[str]:
    """Open /docs; the URLs of every request the page made."""
    requested: list[str] = []
    tab.page.on("request", lambda request: requested.append(request.url))
    response = tab.page.goto(live.url + "/docs")
    assert response is not None and response.status == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("gmail-oneclick plugin API")
    return requested


def assert_readable(tab: Tab, live: Live, requested: list[str]) -> None:
    page = tab.page
    for heading in ("POST /v1/messages", "POST connection.revoked"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    messages = page.locator("#sendMessage")
    expect(messages.locator("li", has_text="idempotency_in_progress")).to_be_visible()
    expect(page.locator("#webhook-connection\\.revoked")).to_contain_text("webhook-signature")
    assert not page.evaluate(SCROLLS_SIDEWAYS), "the page scrolls sideways"
    assert [url for url in requested if not url.startswith(live.url + "/")] == []
    assert tab.unexpected_console_errors() == []


def test_a_developer_reads_the_api_reference_on_a_desktop(tab: Tab, live: Live) -> None:
    requested = read_docs(tab, live)
    tab.shot("docs-top")
    assert_readable(tab, live, requested)
    tab.page.locator("#sendMessage").scroll_into_view_if_needed()
    tab.shot("docs-send")


def test_a_developer_reads_the_api_reference_on_a_390px_phone(phone: Tab, live: Live) -> None:
    phone.page.set_viewport_size({"width": 390, "height": 844})
    requested = read_docs(phone, live)
    assert phone.page.evaluate("window.innerWidth") == 390
    phone.shot("docs-top")
    assert_readable(phone, live, requested)
    widest: Any = phone.page.evaluate(WIDEST_ELEMENT)
    assert widest <= 390, f"an element reaches {widest}px"
