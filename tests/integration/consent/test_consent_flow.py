"""The consent flow end to end: the service through Flask, Google as the sandbox over HTTP."""

from __future__ import annotations

from typing import Any

from gmail_oneclick.domain.model import (
    GMAIL_SEND,
    REFRESH_TOKEN,
    USERINFO_EMAIL,
    connection_owner,
)
from tests.conftest import RegisteredSite, register_site
from tests.integration.consent.conftest import Browser, query_of, stored_secret_owners


def assert_google_is_asked_for_offline_send_and_email(auth_url: str, google_url: str,
                                                      login_hint: str) -> None:
    """The authorization request: only gmail.send and the email, offline with a fresh consent
    (so Google issues a refresh token), PKCE, the account hinted, our callback."""
    google = query_of(auth_url)
    assert auth_url.startswith(google_url + "/o/oauth2/v2/auth?")
    assert google["scope"] == [f"{GMAIL_SEND} {USERINFO_EMAIL}"]
    assert google["access_type"] == ["offline"] and google["prompt"] == ["consent"]
    assert google["code_challenge_method"] == ["S256"]
    assert google["login_hint"] == [login_hint]
    assert google["redirect_uri"] == ["http://127.0.0.1:8000/oauth2/callback"]
    assert "include_granted_scopes" not in google


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
    assert_google_is_asked_for_offline_send_and_email(auth_url, sandbox.url, "alice@example.com")

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
        stored = uow.tokens.get(connection_owner(connection_id), REFRESH_TOKEN)
    assert stored is not None
    assert stored.decode() == sandbox.state.refresh_tokens_for("alice@example.com")[-1]


def connection_ids(browser: Browser, site: RegisteredSite) -> list[str]:
    body = browser.client.get("/v1/connections", headers=site.auth).get_json()
    return [c["id"] for c in body["connections"]]


def test_denied_consent_returns_to_the_site_with_access_denied(
    browser: Browser, site: RegisteredSite, container: Any
) -> None:
    auth_url = browser.to_google(browser.new_link(site))
    done = browser.callback(browser.deny(auth_url))
    assert done.status_code == 303
    result = query_of(done.headers["Location"])
    assert result["gmail_oneclick"] == ["error"] and result["reason"] == ["access_denied"]
    assert connection_ids(browser, site) == []
    assert [o for o in stored_secret_owners(container) if not o.startswith("site:")] == []


def test_unticked_gmail_send_stores_nothing_and_revokes_what_was_granted(
    browser: Browser, site: RegisteredSite, sandbox: Any, container: Any
) -> None:
    page = browser.connect(site, "bob@example.com", grant_gmail_send=False)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Send email on your behalf" in html and "tick" in html.lower()
    assert "gmail_oneclick=error&amp;reason=scope_missing" in html
    assert 'href="https://blog.example.com/wp-admin/options-general.php?page=gmail&amp;' in html
    assert connection_ids(browser, site) == []
    assert [o for o in stored_secret_owners(container) if not o.startswith("site:")] == []
    assert [kind for _, kind in sandbox.state.revoke_calls] == ["refresh_token"]
    assert not [g for g in sandbox.state.live_grants() if g.account.email == "bob@example.com"]


def test_unticked_gmail_send_does_not_revoke_a_grant_another_site_still_uses(
    browser: Browser, site: RegisteredSite, sandbox: Any, container: Any
) -> None:
    first = browser.connect(site, "alice@example.com")
    kept_id = query_of(first.headers["Location"])["connection_id"][0]
    shop = register_site(container, name="Shop", origin="https://shop.example.com")
    auth_url = browser.to_google(browser.new_link(shop, "https://shop.example.com/wp-admin/"))
    page = browser.callback(browser.consent(auth_url, "alice@example.com", False))
    assert page.status_code == 200 and "permission" in page.get_data(as_text=True)
    assert sandbox.state.revoke_calls == []
    assert connection_ids(browser, shop) == []
    with container.uow() as uow:
        token = uow.tokens.get(connection_owner(kept_id), REFRESH_TOKEN).decode()
    assert container.google.refresh(token).access_token  # the first site's grant still works


def test_reconnecting_the_same_account_keeps_the_id_and_replaces_the_tokens(
    browser: Browser, site: RegisteredSite, sandbox: Any, container: Any
) -> None:
    first = query_of(browser.connect(site, "alice@example.com").headers["Location"])
    second = query_of(browser.connect(site, "alice@example.com").headers["Location"])
    assert first["connection_id"] == second["connection_id"]
    assert connection_ids(browser, site) == first["connection_id"]
    old, new = sandbox.state.refresh_tokens_for("alice@example.com")
    with container.uow() as uow:
        stored = uow.tokens.get(connection_owner(first["connection_id"][0]), REFRESH_TOKEN)
        owners = uow.tokens.owners_by_token_prefix(new[:16])
    assert stored.decode() == new != old
    assert owners == [connection_owner(first["connection_id"][0])]
    assert sandbox.state.revoke_calls == []


def test_reconnecting_after_a_revocation_makes_the_connection_usable_again(
    browser: Browser, site: RegisteredSite, container: Any
) -> None:
    from gmail_oneclick.domain.events import ConnectionRevoked
    from gmail_oneclick.domain.model import RevocationReason
    from gmail_oneclick.services import handlers

    cid = query_of(browser.connect(site, "alice@example.com").headers["Location"])
    cid = cid["connection_id"][0]
    with container.uow() as uow:
        connection = uow.connections.get(cid)
        uow.record(ConnectionRevoked.of(connection, RevocationReason.INVALID_GRANT, trigger="test"))
        handlers.commit(uow, container.clock)
    gone = browser.client.get(f"/v1/connections/{cid}", headers=site.auth).get_json()
    assert gone["status"] == "reconnect_required" and gone["revoked_at"] is not None
    again = query_of(browser.connect(site, "alice@example.com").headers["Location"])
    assert again["connection_id"] == [cid]
    back = browser.client.get(f"/v1/connections/{cid}", headers=site.auth).get_json()
    assert back["status"] == "connected"
    assert back["revoked_at"] is None and back["revocation_reason"] is None


def test_two_accounts_on_one_site_are_two_connections(
    browser: Browser, site: RegisteredSite
) -> None:
    browser.connect(site, "alice@example.com")
    browser.connect(site, "carol@example.org")
    listed = browser.client.get("/v1/connections", headers=site.auth).get_json()["connections"]
    assert sorted(c["email"] for c in listed) == ["alice@example.com", "carol@example.org"]


def test_connecting_queues_the_webhook_and_the_audit_record(
    browser: Browser, container: Any
) -> None:
    from sqlalchemy import select

    from gmail_oneclick.adapters.storage.tables import webhook_outbox

    hooked = register_site(container, webhook_url="https://blog.example.com/hook")
    cid = query_of(browser.connect(hooked, "alice@example.com").headers["Location"])
    cid = cid["connection_id"][0]
    with container.engine.connect() as conn:
        events = [r.payload for r in conn.execute(select(webhook_outbox))]
    assert [e["type"] for e in events] == ["connection.connected"]
    assert events[0]["data"] == {"connection_id": cid, "email": "alice@example.com",
                                 "reason": None}
    with container.uow() as uow:
        types = [e["type"] for e in uow.audit.for_connection(cid)]
    assert types == ["connection:connected"]


def test_an_account_with_an_unverified_email_is_not_connected(
    browser: Browser, site: RegisteredSite, sandbox: Any
) -> None:
    sandbox.state.add_account("unverified@example.com", email_verified=False)
    page = browser.connect(site, "unverified@example.com")
    assert page.status_code == 400
    assert "not verified" in page.get_data(as_text=True)
    assert "Location" not in page.headers
    assert connection_ids(browser, site) == []
    assert len(sandbox.state.revoke_calls) == 1
