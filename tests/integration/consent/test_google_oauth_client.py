"""GoogleOAuthClient against the sandbox over real HTTP: what other code relies on
(refresh, revoke, userinfo) and how every upstream failure is classified."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from gmail_oneclick.adapters.google.oauth import GoogleOAuthClient
from gmail_oneclick.domain.ids import new_secret
from gmail_oneclick.domain.model import GMAIL_SEND, USERINFO_EMAIL
from gmail_oneclick.ports import InvalidGrant, TransientUpstream, UpstreamMisconfigured
from gmail_oneclick.sandbox.driver import approve_consent
from gmail_oneclick.services.consent import code_challenge
from tests.integration.consent.conftest import query_of


@pytest.fixture
def google(settings: Any) -> Any:
    client = GoogleOAuthClient(settings)
    yield client
    client.close()


def consented_code(google: GoogleOAuthClient, email: str = "alice@example.com",
                   gmail_send: bool = True) -> tuple[str, str]:
    verifier = new_secret(nbytes=48)
    url = google.authorization_url(state=new_secret(), code_challenge=code_challenge(verifier),
                                   login_hint=None)
    callback = approve_consent(requests.Session(), url, email, gmail_send)
    return query_of(callback)["code"][0], verifier


def test_exchange_returns_the_granted_scopes_and_a_refresh_token(google: Any) -> None:
    code, verifier = consented_code(google)
    grant = google.exchange_code(code=code, code_verifier=verifier)
    assert {GMAIL_SEND, USERINFO_EMAIL} <= grant.scopes
    assert grant.refresh_token and grant.access_token
    assert "token" not in repr(grant).lower().replace("tokengrant", "")


def test_exchange_reports_the_scopes_actually_granted_not_those_asked(google: Any) -> None:
    code, verifier = consented_code(google, gmail_send=False)
    grant = google.exchange_code(code=code, code_verifier=verifier)
    assert GMAIL_SEND not in grant.scopes and USERINFO_EMAIL in grant.scopes


def test_a_wrong_verifier_or_a_used_code_is_invalid_grant(google: Any) -> None:
    code, verifier = consented_code(google)
    with pytest.raises(InvalidGrant):
        google.exchange_code(code=code, code_verifier=new_secret(nbytes=48))
    with pytest.raises(InvalidGrant):  # the code was burnt by the first attempt
        google.exchange_code(code=code, code_verifier=verifier)


@pytest.mark.parametrize("fault", ["500", "503", "429"])
def test_server_errors_and_rate_limits_are_transient(google: Any, sandbox: Any,
                                                     fault: str) -> None:
    code, verifier = consented_code(google)
    sandbox.state.retry_after_seconds = 7
    sandbox.state.inject_token_fault(fault)
    with pytest.raises(TransientUpstream) as caught:
        google.exchange_code(code=code, code_verifier=verifier)
    if fault == "429":
        assert caught.value.retry_after == 7


def test_invalid_client_is_misconfiguration_not_invalid_grant(google: Any, sandbox: Any) -> None:
    code, verifier = consented_code(google)
    sandbox.state.inject_token_fault("invalid_client")
    with pytest.raises(UpstreamMisconfigured):
        google.exchange_code(code=code, code_verifier=verifier)
    grant = google.exchange_code(code=code, code_verifier=verifier)
    sandbox.state.inject_token_fault("invalid_client")
    with pytest.raises(UpstreamMisconfigured):
        google.refresh(grant.refresh_token)


def test_a_timeout_is_transient(settings: Any, sandbox: Any) -> None:
    slow = GoogleOAuthClient(settings.replace(http_timeout=0.2))
    sandbox.state.slow_seconds = 1.0
    sandbox.state.inject_token_fault("timeout")
    with pytest.raises(TransientUpstream):
        slow.refresh("1//0sbx-whatever")
    slow.close()


def test_nothing_listening_is_transient(settings: Any) -> None:
    dead = GoogleOAuthClient(settings.replace(google_token_uri="http://127.0.0.1:9/token",
                                              google_revoke_uri="http://127.0.0.1:9/revoke"))
    with pytest.raises(TransientUpstream):
        dead.refresh("1//0sbx-whatever")
    with pytest.raises(TransientUpstream):
        dead.revoke("1//0sbx-whatever")
    dead.close()


def test_refresh_userinfo_and_revoke(google: Any) -> None:
    code, verifier = consented_code(google)
    grant = google.exchange_code(code=code, code_verifier=verifier)
    refreshed = google.refresh(grant.refresh_token)
    assert refreshed.access_token != grant.access_token and refreshed.refresh_token is None
    assert GMAIL_SEND in refreshed.scopes
    me = google.userinfo(refreshed.access_token)
    assert me.email == "alice@example.com" and me.email_verified and me.sub.isdigit()
    assert google.revoke(grant.refresh_token) is True
    assert google.revoke(grant.refresh_token) is True  # already dead counts as revoked
    with pytest.raises(InvalidGrant):
        google.refresh(grant.refresh_token)
    with pytest.raises(InvalidGrant):
        google.userinfo(refreshed.access_token)


def test_the_consent_url_asks_for_exactly_what_the_contract_says(google: Any,
                                                                 settings: Any) -> None:
    url = google.authorization_url(state="s" * 43, code_challenge="c" * 43,
                                   login_hint="bob@example.com")
    query = query_of(url)
    assert url.startswith(settings.google_auth_uri + "?")
    assert query["client_id"] == [settings.google_client_id]
    assert query["response_type"] == ["code"]
    assert sorted(query["scope"][0].split()) == sorted([GMAIL_SEND, USERINFO_EMAIL])
    assert query["state"] == ["s" * 43] and query["code_challenge"] == ["c" * 43]
    assert query["code_challenge_method"] == ["S256"]
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["login_hint"] == ["bob@example.com"]
    assert "include_granted_scopes" not in query
    assert "login_hint" not in query_of(google.authorization_url(
        state="s" * 43, code_challenge="c" * 43, login_hint=None))
