"""Google's own Python libraries work against the sandbox: the proof that it is Google-shaped."""

from __future__ import annotations

import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from sandbox_flow import GMAIL_SEND, REDIRECT_URI, USERINFO_EMAIL

from gmail_oneclick.sandbox import SandboxServer, sandbox_urls
from gmail_oneclick.sandbox.driver import approve_consent


@pytest.fixture(autouse=True)
def _oauthlib_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Google adds openid to the granted scopes; plain http is loopback only here.
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def make_flow(google: SandboxServer) -> Flow:
    urls = sandbox_urls(google.url)
    config = {
        "web": {
            "client_id": google.state.client_id,
            "client_secret": google.state.client_secret,
            "auth_uri": urls["google_auth_uri"],
            "token_uri": urls["google_token_uri"],
            "redirect_uris": [REDIRECT_URI],
        }
    }
    return Flow.from_client_config(
        config,
        scopes=[GMAIL_SEND, USERINFO_EMAIL],
        redirect_uri=REDIRECT_URI,
        autogenerate_code_verifier=True,
    )


def connect_with_flow(google: SandboxServer, email: str = "alice@example.com") -> Credentials:
    flow = make_flow(google)
    url, _state = flow.authorization_url(
        access_type="offline", prompt="consent", login_hint=email
    )
    callback = approve_consent(requests.Session(), url, email)
    flow.fetch_token(authorization_response=callback)
    credentials: Credentials = flow.credentials
    return credentials


def test_flow_exchanges_the_code_with_pkce(google: SandboxServer) -> None:
    credentials = connect_with_flow(google)
    assert credentials.refresh_token in google.state.refresh_tokens_for("alice@example.com")
    info = google.state.access_token_info(credentials.token)
    assert info is not None and info.email == "alice@example.com"
    assert GMAIL_SEND in info.scopes
    assert credentials.id_token


def test_credentials_refresh_against_the_sandbox(google: SandboxServer) -> None:
    stored = connect_with_flow(google)
    google.state.expire_access_tokens()
    credentials = Credentials(
        token=None,
        refresh_token=stored.refresh_token,
        token_uri=sandbox_urls(google.url)["google_token_uri"],
        client_id=google.state.client_id,
        client_secret=google.state.client_secret,
    )
    credentials.refresh(Request())
    assert credentials.valid
    assert google.state.access_token_info(credentials.token) is not None
    assert google.state.refresh_count_for("alice@example.com") == 1


def test_refresh_of_a_revoked_grant_raises_invalid_grant(google: SandboxServer) -> None:
    credentials = connect_with_flow(google)
    google.state.revoke_grant("alice@example.com")
    with pytest.raises(RefreshError) as caught:
        credentials.refresh(Request())
    assert str(caught.value.args[0]).startswith("invalid_grant")


def test_transient_fault_is_retried_by_google_auth(google: SandboxServer) -> None:
    credentials = connect_with_flow(google)
    google.state.inject_token_fault("503")
    credentials.refresh(Request())
    assert credentials.valid
    assert google.state.refresh_count == 1
