"""The sandbox's token, revoke, userinfo and tokeninfo endpoints answer as Google's do."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from sandbox_flow import (
    GMAIL_SEND,
    USERINFO_EMAIL,
    Pkce,
    auth_url,
    connect,
    consent,
    exchange,
    query_of,
    refresh,
    token_request,
)

from gmail_oneclick.sandbox import SandboxServer
from gmail_oneclick.sandbox.driver import approve_consent

DEAD = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}


def test_code_exchange_returns_google_shaped_tokens(google: SandboxServer) -> None:
    body = connect(google)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert set(body["scope"].split()) == {GMAIL_SEND, USERINFO_EMAIL, "openid"}
    assert body["refresh_token"] in google.state.refresh_tokens_for("alice@example.com")
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    account = google.state.account("alice@example.com")
    assert account is not None
    assert claims["aud"] == google.state.client_id
    assert claims["iss"] == google.url
    assert (claims["sub"], claims["email"], claims["email_verified"]) == (
        account.sub, "alice@example.com", True,
    )


def exchange_after(google: SandboxServer, **overrides: str | None) -> dict[str, Any]:
    pkce = Pkce()
    url = auth_url(google, pkce, **overrides)
    query = query_of(approve_consent(requests.Session(), url, "alice@example.com"))
    body: dict[str, Any] = exchange(google, query["code"], pkce.verifier).json()
    return body


def test_online_access_gets_no_refresh_token(google: SandboxServer) -> None:
    body = exchange_after(google, access_type=None)
    assert "access_token" in body and "refresh_token" not in body


def test_refresh_token_only_on_first_offline_consent_or_with_prompt_consent(
    google: SandboxServer,
) -> None:
    first = exchange_after(google, prompt=None)
    again = exchange_after(google, prompt=None)
    forced = exchange_after(google, prompt="consent")
    assert "refresh_token" in first
    assert "refresh_token" not in again
    assert "refresh_token" in forced


@pytest.mark.parametrize(
    ("verifier", "description"),
    [("", "Missing code verifier."), ("wrong-" + "x" * 50, "Invalid code verifier.")],
)
def test_pkce_mismatch_is_invalid_grant(
    google: SandboxServer, verifier: str, description: str
) -> None:
    query, _ = consent(google)
    response = exchange(google, query["code"], verifier)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": description}


def test_code_is_single_use(google: SandboxServer) -> None:
    query, pkce = consent(google)
    assert exchange(google, query["code"], pkce.verifier).status_code == 200
    replay = exchange(google, query["code"], pkce.verifier)
    assert replay.status_code == 400
    assert replay.json() == {"error": "invalid_grant", "error_description": "Bad Request"}


def test_redirect_uri_must_match_the_authorization_request(google: SandboxServer) -> None:
    query, pkce = consent(google)
    response = token_request(
        google,
        {
            "grant_type": "authorization_code",
            "code": query["code"],
            "code_verifier": pkce.verifier,
            "redirect_uri": "http://127.0.0.1:9999/oauth2/callback",
        },
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_expired_code_is_invalid_grant(google: SandboxServer) -> None:
    google.state.code_lifetime = 0
    query, pkce = consent(google)
    assert exchange(google, query["code"], pkce.verifier).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("basic", [False, True])
def test_refresh_gives_a_new_access_token_and_no_refresh_token(
    google: SandboxServer, basic: bool
) -> None:
    tokens = connect(google)
    google.state.expire_access_tokens("alice@example.com")
    assert google.state.access_token_info(tokens["access_token"]) is None
    if basic:
        auth = (google.state.client_id, google.state.client_secret)
        response = token_request(
            google,
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=auth,
        )
    else:
        response = refresh(google, tokens["refresh_token"])
    body = response.json()
    assert response.status_code == 200
    assert "refresh_token" not in body
    assert set(body["scope"].split()) == {GMAIL_SEND, USERINFO_EMAIL, "openid"}
    assert google.state.access_token_info(body["access_token"]) is not None
    assert google.state.refresh_count == 1
    assert google.state.refresh_count_for("alice@example.com") == 1
    assert google.state.refresh_count_for("bob@example.com") == 0


def test_revoke_ends_the_whole_grant(google: SandboxServer) -> None:
    first = connect(google)
    second = connect(google)  # another prompt=consent: same grant, another refresh token
    bob = connect(google, "bob@example.com")
    assert first["refresh_token"] != second["refresh_token"]
    response = requests.post(google.url + "/revoke", data={"token": first["refresh_token"]})
    assert response.status_code == 200 and response.json() == {}
    for tokens in (first, second):
        assert refresh(google, tokens["refresh_token"]).json() == DEAD
        assert google.state.access_token_info(tokens["access_token"]) is None
    assert refresh(google, bob["refresh_token"]).status_code == 200
    assert [kind for _, kind in google.state.revoke_calls] == ["refresh_token"]


def test_revoke_by_access_token_in_the_query_ends_the_grant(google: SandboxServer) -> None:
    tokens = connect(google)
    response = requests.post(google.url + "/revoke", params={"token": tokens["access_token"]})
    assert response.status_code == 200
    assert refresh(google, tokens["refresh_token"]).json() == DEAD


def test_revoking_a_dead_or_unknown_token_is_invalid_token(google: SandboxServer) -> None:
    tokens = connect(google)
    requests.post(google.url + "/revoke", data={"token": tokens["refresh_token"]})
    for token in (tokens["refresh_token"], "1//unknown"):
        response = requests.post(google.url + "/revoke", data={"token": token})
        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_token", "error_description": "Token expired or revoked",
        }


def test_consent_after_revoke_starts_a_new_live_grant(google: SandboxServer) -> None:
    old = connect(google)
    google.state.revoke_grant("alice@example.com")
    new = connect(google)
    assert refresh(google, old["refresh_token"]).json() == DEAD
    assert refresh(google, new["refresh_token"]).status_code == 200


def test_oldest_refresh_token_dies_past_the_limit(google: SandboxServer) -> None:
    google.state.max_refresh_tokens = 2
    tokens = [connect(google)["refresh_token"] for _ in range(3)]
    assert refresh(google, tokens[0]).json() == DEAD
    assert all(refresh(google, t).status_code == 200 for t in tokens[1:])


def test_userinfo_and_tokeninfo_describe_the_token(google: SandboxServer) -> None:
    tokens = connect(google, "carol@example.org")
    account = google.state.account("carol@example.org")
    assert account is not None
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    info = requests.get(google.url + "/v1/userinfo", headers=bearer).json()
    assert info["sub"] == account.sub and info["sub"].isdigit()
    assert (info["email"], info["email_verified"]) == ("carol@example.org", True)
    assert info["picture"]
    ti = requests.get(google.url + "/tokeninfo", params={"access_token": tokens["access_token"]})
    body = ti.json()
    assert (body["aud"], body["azp"], body["sub"]) == (
        google.state.client_id, google.state.client_id, account.sub,
    )
    assert GMAIL_SEND in body["scope"].split()
    assert 3500 < int(body["expires_in"]) <= 3599


def test_dead_access_token_is_refused_by_userinfo_and_tokeninfo(google: SandboxServer) -> None:
    tokens = connect(google)
    google.state.revoke_grant("alice@example.com")
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    info = requests.get(google.url + "/v1/userinfo", headers=bearer)
    assert info.status_code == 401
    assert 'error="invalid_token"' in info.headers["WWW-Authenticate"]
    assert "error" in info.json()
    ti = requests.get(google.url + "/tokeninfo", params={"access_token": tokens["access_token"]})
    assert ti.status_code == 400
    assert ti.json() == {"error": "invalid_token", "error_description": "Invalid Value"}


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"client_id": "sandbox-client.apps.googleusercontent.com", "client_secret": "nope"},
         None, 401, "invalid_client"),
        ({"client_id": "other.apps.googleusercontent.com", "client_secret": "x"},
         None, 401, "invalid_client"),
        ({}, ("sandbox-client.apps.googleusercontent.com", "nope"), 401, "invalid_client"),
        ({}, None, 400, "invalid_request"),
    ],
)
def test_client_authentication_failures(
    google: SandboxServer,
    data: dict[str, str],
    auth: tuple[str, str] | None,
    status: int,
    error: str,
) -> None:
    tokens = connect(google)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **data}
    response = requests.post(google.url + "/token", data=form, auth=auth)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "error_description" in response.json()


def test_unsupported_grant_type(google: SandboxServer) -> None:
    response = token_request(google, {"grant_type": "password"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_rate_limit_fault_has_retry_after_and_is_consumed(google: SandboxServer) -> None:
    tokens = connect(google)
    google.state.retry_after_seconds = 7
    google.state.inject_token_fault("429")
    limited = refresh(google, tokens["refresh_token"])
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert refresh(google, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("503", 503), ("invalid_client", 401)])
def test_injected_faults(google: SandboxServer, kind: str, status: int) -> None:
    tokens = connect(google)
    google.state.inject_token_fault(kind, count=2)
    answers = [refresh(google, tokens["refresh_token"]).status_code for _ in range(3)]
    assert answers == [status, status, 200]
    assert google.state.refresh_count == 1


def test_timeout_fault_is_slow_then_503(google: SandboxServer) -> None:
    tokens = connect(google)
    google.state.slow_seconds = 0.5
    google.state.inject_token_fault("timeout")
    with pytest.raises(requests.Timeout):
        requests.post(
            google.url + "/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            timeout=0.2,
        )
    time.sleep(0.5)  # let the slow answer finish before the server stops
    assert refresh(google, tokens["refresh_token"]).status_code == 200


def test_unknown_fault_kind_is_refused(google: SandboxServer) -> None:
    with pytest.raises(ValueError):
        google.state.inject_token_fault("418")


def test_remove_access_page_revokes_the_grant(google: SandboxServer) -> None:
    tokens = connect(google)
    page = requests.get(google.url + "/myaccount/permissions").text
    assert "Remove access" in page and GMAIL_SEND in page
    response = requests.post(
        google.url + "/myaccount/permissions", data={"email": "alice@example.com"}
    )
    assert response.status_code == 200
    assert refresh(google, tokens["refresh_token"]).json() == DEAD
    assert google.state.live_grants() == []
