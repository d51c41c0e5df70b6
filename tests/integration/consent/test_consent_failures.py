"""Stale links, replays, other browsers and upstream failures: each ends in a clear page or a
clear redirect, never a stack trace and never a half-stored connection."""

from __future__ import annotations

from typing import Any

from gmail_oneclick.domain.ids import secret_hash
from tests.conftest import RegisteredSite
from tests.integration.consent.conftest import (
    CSRF,
    Browser,
    FakeClock,
    path_of,
    query_of,
    stored_secret_owners,
)


def assert_start_again_page(response: Any, status: int) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers
    assert "Connect Gmail" in html and "again" in html  # tells the admin what to do


def test_a_replayed_callback_is_a_400_page_without_redirect(
    browser: Browser, other_browser: Browser, site: RegisteredSite
) -> None:
    callback = browser.consent(browser.to_google(browser.new_link(site)), "alice@example.com")
    assert browser.callback(callback).status_code == 303
    assert_start_again_page(browser.callback(callback), 400)
    assert_start_again_page(other_browser.callback(callback), 400)


def test_a_callback_in_another_browser_is_refused_and_the_admin_can_still_finish(
    browser: Browser, other_browser: Browser, site: RegisteredSite
) -> None:
    callback = browser.consent(browser.to_google(browser.new_link(site)), "alice@example.com")
    refused = other_browser.callback(callback)
    assert_start_again_page(refused, 400)
    assert "another browser" in refused.get_data(as_text=True)
    done = browser.callback(callback)
    assert query_of(done.headers["Location"])["gmail_oneclick"] == ["connected"]


def test_a_callback_with_a_missing_or_forged_state_is_a_400_page(
    browser: Browser, site: RegisteredSite
) -> None:
    callback = browser.consent(browser.to_google(browser.new_link(site)), "alice@example.com")
    code = query_of(callback)["code"][0]
    assert_start_again_page(browser.client.get("/oauth2/callback"), 400)
    assert_start_again_page(browser.client.get(f"/oauth2/callback?code={code}"), 400)
    forged = "x" * 43
    assert_start_again_page(browser.client.get(f"/oauth2/callback?state={forged}&code={code}"), 400)
    assert_start_again_page(browser.client.get("/oauth2/callback?state=%00%ff&code=1"), 400)


def test_two_tabs_of_one_browser_each_finish_their_own_flow(
    browser: Browser, site: RegisteredSite
) -> None:
    first = browser.to_google(browser.new_link(site))
    second = browser.to_google(browser.new_link(site))
    done_second = browser.callback(browser.consent(second, "carol@example.org"))
    done_first = browser.callback(browser.consent(first, "alice@example.com"))
    assert query_of(done_first.headers["Location"])["gmail_oneclick"] == ["connected"]
    assert query_of(done_second.headers["Location"])["gmail_oneclick"] == ["connected"]


def test_a_state_expires_after_ten_minutes(
    browser: Browser, site: RegisteredSite, clock: FakeClock, container: Any
) -> None:
    callback = browser.consent(browser.to_google(browser.new_link(site)), "alice@example.com")
    clock.advance(minutes=10, seconds=1)
    refused = browser.callback(callback)
    assert_start_again_page(refused, 400)
    assert "expired" in refused.get_data(as_text=True)
    state_hash = secret_hash(query_of(callback)["state"][0])
    assert f"state:{state_hash}" not in stored_secret_owners(container)


def test_the_code_verifier_is_purged_once_the_callback_used_it(
    browser: Browser, site: RegisteredSite, container: Any
) -> None:
    callback = browser.consent(browser.to_google(browser.new_link(site)), "alice@example.com")
    owner = "state:" + secret_hash(query_of(callback)["state"][0])
    assert owner in stored_secret_owners(container)
    browser.callback(callback)
    assert owner not in stored_secret_owners(container)


def test_an_expired_connect_link_is_a_410_page(
    browser: Browser, site: RegisteredSite, clock: FakeClock, container: Any
) -> None:
    link = browser.new_link(site)
    page = browser.open(link)
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    clock.advance(seconds=container.settings.connect_ttl + 1)
    assert_start_again_page(browser.open(link), 410)
    assert_start_again_page(browser.submit(link, csrf), 410)


def test_a_forged_connect_link_is_a_404_page(browser: Browser, site: RegisteredSite) -> None:
    link = browser.new_link(site)
    forged = link[: -4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    assert_start_again_page(browser.open(forged), 404)
    assert_start_again_page(browser.submit(forged, "x" * 43), 404)
    assert_start_again_page(browser.client.get("/connect/short"), 404)


def test_a_second_submit_of_the_form_is_a_410_page(
    browser: Browser, site: RegisteredSite
) -> None:
    link = browser.new_link(site)
    page = browser.open(link)
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert browser.submit(link, csrf).status_code == 303
    again = browser.submit(link, csrf)
    assert_start_again_page(again, 410)
    assert "used" in again.get_data(as_text=True)
    assert_start_again_page(browser.open(link), 410)  # back button to the page


def test_a_submit_without_the_matching_csrf_token_is_refused_and_the_link_survives(
    browser: Browser, other_browser: Browser, site: RegisteredSite
) -> None:
    link = browser.new_link(site)
    page = browser.open(link)
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    wrong = browser.submit(link, "y" * 43)
    assert wrong.status_code == 400 and "Location" not in wrong.headers
    foreign = other_browser.submit(link, csrf)  # the token without the cookie
    assert foreign.status_code == 400 and "Location" not in foreign.headers
    no_field = browser.record(browser.client.post(path_of(link), data={}))
    assert no_field.status_code == 400
    assert browser.submit(link, csrf).status_code == 303


def test_a_failed_code_exchange_returns_to_the_site_with_upstream_error(
    browser: Browser, site: RegisteredSite, sandbox: Any, container: Any
) -> None:
    callback = browser.consent(browser.to_google(browser.new_link(site)), "alice@example.com")
    sandbox.state.inject_token_fault("503")
    done = browser.callback(callback)
    assert done.status_code == 303
    assert query_of(done.headers["Location"])["reason"] == ["upstream_error"]
    assert [o for o in stored_secret_owners(container) if o.startswith("connection:")] == []


def test_a_failed_exchange_after_the_link_expired_says_expired(
    browser: Browser, site: RegisteredSite, sandbox: Any, clock: FakeClock, container: Any
) -> None:
    link = browser.new_link(site)
    clock.advance(seconds=container.settings.connect_ttl - 1)
    callback = browser.consent(browser.to_google(link), "alice@example.com")
    clock.advance(seconds=2)
    sandbox.state.inject_token_fault("500")
    done = browser.callback(callback)
    assert query_of(done.headers["Location"])["reason"] == ["expired"]


def test_an_unusable_code_returns_to_the_site_with_upstream_error(
    browser: Browser, site: RegisteredSite
) -> None:
    callback = browser.consent(browser.to_google(browser.new_link(site)), "alice@example.com")
    tampered = callback.replace("code=", "code=zz")
    done = browser.callback(tampered)
    assert query_of(done.headers["Location"])["reason"] == ["upstream_error"]
