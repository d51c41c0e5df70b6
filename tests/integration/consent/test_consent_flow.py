"""The consent flow end to end: the service through Flask, Google as the sandbox over HTTP."""

from __future__ import annotations

from typing import Any

from gmail_oneclick.model import GMAIL_SEND, USERINFO_EMAIL, connection_owner
from tests.conftest import RegisteredSite
from tests.integration.consent.conftest import RETURN_URL, Browser, query_of


def test_admin_connects_gmail_and_the_site_sees_the_connection(
    browser: Browser, site: RegisteredSite, sandbox: Any, container: Any
) -> None:
    link = browser.new_link(site, login_hint="alice@example.com")
    page = browser.open(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Example Blog" in html and "https://blog.example.com" in html
    assert "alice@example.com" in html and "Continue with Google" in html

    auth_url = browser.to_google(link)
    google = query_of(auth_url)
    assert auth_url.startswith(sandbox.url + "/o/oauth2/v2/auth?")
    assert google["scope"] == [f"{GMAIL_SEND} {USERINFO_EMAIL}"]
    assert google["access_type"] == ["offline"] and google["prompt"] == ["consent"]
    assert google["code_challenge_method"] == ["S256"]
    assert google["login_hint"] == ["alice@example.com"]
    assert google["redirect_uri"] == ["http://127.0.0.1:8000/oauth2/callback"]
    assert "include_granted_scopes" not in google

    done = browser.callback(browser.consent(auth_url, "alice@example.com"))
    assert done.status_code == 303
    location = done.headers["Location"]
    assert location.startswith("https://blog.example.com/wp-admin/options-general.php?")
    result = query_of(location)
    assert result["page"] == ["gmail"]
    assert result["gmail_oneclick"] == ["connected"]
    connection_id = result["connection_id"][0]

    listed = browser.client.get("/v1/connections", headers=site.auth).get_json()["connections"]
    assert [c["id"] for c in listed] == [connection_id]
    one = browser.client.get(f"/v1/connections/{connection_id}", headers=site.auth).get_json()
    assert one["email"] == "alice@example.com"
    assert one["status"] == "connected"
    assert {GMAIL_SEND, USERINFO_EMAIL} <= set(one["scopes"])
    assert one["revoked_at"] is None and one["created_at"].endswith("Z")

    with container.uow() as uow:
        stored = uow.tokens.get(connection_owner(connection_id), "refresh_token")
    assert stored is not None
    assert stored.decode() == sandbox.state.refresh_tokens_for("alice@example.com")[-1]
