"""Tokens and codes never show up in a URL, a Location header, a page or a log line; every
page carries the service's security headers; cookies are HttpOnly and SameSite=Lax."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from gmail_oneclick.domain.model import ACCESS_TOKEN, connection_owner
from tests.conftest import RegisteredSite
from tests.integration.consent.conftest import RETURN_URL, Browser, path_of, query_of


def test_no_token_or_code_leaks_into_urls_pages_or_logs(
    browser: Browser, site: RegisteredSite, sandbox: Any, container: Any,
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    callback = browser.consent(browser.to_google(browser.new_link(site)), "alice@example.com")
    code = query_of(callback)["code"][0]
    cid = query_of(browser.callback(callback).headers["Location"])["connection_id"][0]
    browser.callback(callback)  # a replay's error page
    browser.connect(site, "bob@example.com", grant_gmail_send=False)  # scope-missing page
    browser.record(browser.client.get("/v1/connections", headers=site.auth))
    with container.uow() as uow:
        access = uow.tokens.get(connection_owner(cid), ACCESS_TOKEN).decode()
    secrets = [code, access, *sandbox.state.refresh_tokens_for("alice@example.com"),
               *sandbox.state.refresh_tokens_for("bob@example.com")]
    assert len(secrets) == 4
    captured = capfd.readouterr()
    haystacks = {"responses": "\n".join(browser.seen), "caplog": caplog.text,
                 "stderr": captured.err, "stdout": captured.out}
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a token or code leaked into {where}"
    assert caplog.records  # the flow did log: the check above looked at something


def assert_security_headers(response: Any) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp or "'unsafe-inline'" not in csp
    assert "default-src 'none'" in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]


def test_every_page_of_the_flow_sends_the_security_headers(
    browser: Browser, site: RegisteredSite
) -> None:
    link = browser.new_link(site)
    responses = [browser.open(link)]
    auth_url_response = browser.submit(link)
    responses.append(auth_url_response)
    callback = browser.consent(auth_url_response.headers["Location"], "alice@example.com")
    responses += [browser.callback(callback), browser.callback(callback), browser.open(link)]
    responses.append(browser.connect(site, "bob@example.com", grant_gmail_send=False))
    responses.append(browser.client.get("/connect/" + "z" * 43))
    for response in responses:
        assert_security_headers(response)


def test_pages_are_accessible_html(browser: Browser, site: RegisteredSite) -> None:
    html = browser.open(browser.new_link(site)).get_data(as_text=True)
    assert '<html lang="en">' in html and 'name="viewport"' in html
    assert "<h1>" in html and '<button type="submit">' in html
    # No inline script or style (the CSP forbids them); the one script is a file of ours that
    # only keeps a double click from spending the link twice: the form works without it.
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    assert scripts == [""] and '<script src="/static/once.js">' in html
    assert "style=" not in html and '<form method="post"' in html


def set_cookie(response: Any, name: str) -> str:
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    return found[0]


def test_cookies_are_httponly_and_samesite_lax(browser: Browser, site: RegisteredSite) -> None:
    link = browser.new_link(site)
    csrf = set_cookie(browser.open(link), "gmail_oneclick_csrf")
    bound = set_cookie(browser.submit(link), "gmail_oneclick_browser")
    for cookie in (csrf, bound):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # PUBLIC_URL is http on loopback here
    assert "Path=/connect/" in csrf and "Path=/" in bound


def test_cookies_are_secure_when_the_public_url_is_https(
    settings: Any, site: RegisteredSite
) -> None:
    from gmail_oneclick.entrypoints.web import EXTENSION, create_app

    app = create_app(settings.replace(public_url="https://gmail.example.com"))
    try:
        client = app.test_client()
        created = client.post("/v1/connections", json={"return_url": RETURN_URL},
                              headers=site.auth).get_json()
        assert created["connect_url"].startswith("https://gmail.example.com/connect/")
        page = client.get(path_of(created["connect_url"]), base_url="https://gmail.example.com")
        assert "Secure" in set_cookie(page, "gmail_oneclick_csrf")
        assert "Strict-Transport-Security" in page.headers
    finally:
        app.extensions[EXTENSION].engine.dispose()
