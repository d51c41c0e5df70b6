"""The sandbox's authorization endpoint and consent page behave like Google's."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
import requests
from sandbox_flow import (
    GMAIL_SEND,
    REDIRECT_URI,
    USERINFO_EMAIL,
    Pkce,
    auth_url,
    consent,
    exchange,
    query_of,
)
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from gmail_oneclick.sandbox import SandboxServer, SandboxState, create_sandbox_app
from gmail_oneclick.sandbox.driver import ConsentError, approve_consent, deny_consent

BANNER = "Google sandbox — development only"


@pytest.mark.parametrize(
    ("override", "status", "error"),
    [
        ({"client_id": "someone-else.apps.googleusercontent.com"}, 401, "invalid_client"),
        ({"client_id": None}, 401, "invalid_client"),
        ({"redirect_uri": "https://evil.example/oauth2/callback"}, 400, "redirect_uri_mismatch"),
        ({"redirect_uri": "http://127.0.0.1:8000/elsewhere"}, 400, "redirect_uri_mismatch"),
        ({"response_type": "token"}, 400, "invalid_request"),
        ({"scope": None}, 400, "invalid_request"),
        ({"scope": "https://mail.google.com/ not-a-scope"}, 400, "invalid_scope"),
        ({"code_challenge": None}, 400, "invalid_request"),
        ({"code_challenge_method": "plain"}, 400, "invalid_request"),
        ({"code_challenge_method": None}, 400, "invalid_request"),
    ],
)
def test_bad_authorization_request_shows_google_error_page_and_never_redirects(
    google: SandboxServer, override: dict[str, str | None], status: int, error: str
) -> None:
    response = requests.get(auth_url(google, Pkce(), **override), allow_redirects=False)
    assert response.status_code == status
    assert f"Error {status}: {error}" in response.text
    assert BANNER in response.text
    assert "Location" not in response.headers


def test_consent_page_preselects_login_hint_and_ticks_gmail_send(google: SandboxServer) -> None:
    page = requests.get(auth_url(google, Pkce(), login_hint="bob@example.com")).text
    assert BANNER in page
    assert 'value="bob@example.com" checked' in page
    assert 'value="alice@example.com" checked' not in page
    assert f'name="scope" value="{GMAIL_SEND}" checked' in page
    # userinfo.email is a sign-in scope: shown as granted, never a checkbox.
    assert f'name="scope" value="{USERINFO_EMAIL}"' not in page


def test_registered_redirect_uri_replaces_the_loopback_default(google: SandboxServer) -> None:
    google.state.register_redirect_uri("https://service.example/oauth2/callback")
    refused = requests.get(auth_url(google, Pkce()), allow_redirects=False)
    accepted = requests.get(
        auth_url(google, Pkce(), redirect_uri="https://service.example/oauth2/callback")
    )
    assert refused.status_code == 400
    assert accepted.status_code == 200


def test_allow_redirects_with_code_state_and_granted_scopes(google: SandboxServer) -> None:
    pkce = Pkce()
    url = auth_url(google, pkce, state="s-123")
    callback = approve_consent(requests.Session(), url, "alice@example.com")
    assert callback.startswith(REDIRECT_URI + "?")
    query = query_of(callback)
    assert query["state"] == "s-123"
    assert query["code"]
    assert set(query["scope"].split()) == {GMAIL_SEND, USERINFO_EMAIL, "openid"}


def test_unticked_gmail_send_is_missing_from_the_granted_scope(google: SandboxServer) -> None:
    query, pkce = consent(google, gmail=False)
    body = exchange(google, query["code"], pkce.verifier).json()
    assert GMAIL_SEND not in query["scope"].split()
    assert GMAIL_SEND not in body["scope"].split()
    assert set(body["scope"].split()) == {USERINFO_EMAIL, "openid"}
    info = google.state.access_token_info(body["access_token"])
    assert info is not None and GMAIL_SEND not in info.scopes


def test_cancel_redirects_with_access_denied_and_state(google: SandboxServer) -> None:
    callback = deny_consent(requests.Session(), auth_url(google, Pkce(), state="s-9"))
    assert query_of(callback) == {"error": "access_denied", "state": "s-9"}


def test_consent_form_is_single_use(google: SandboxServer) -> None:
    session = requests.Session()
    page = session.get(auth_url(google, Pkce())).text
    request_id = page.split('name="request_id" value="', 1)[1].split('"', 1)[0]
    form = {"request_id": request_id, "account": "alice@example.com", "action": "allow"}
    consent_url = google.url + "/o/oauth2/v2/auth/consent"
    first = session.post(consent_url, data=form, allow_redirects=False)
    second = session.post(consent_url, data=form, allow_redirects=False)
    assert first.status_code == 302
    assert second.status_code == 400


def test_unknown_email_typed_in_becomes_a_new_account(google: SandboxServer) -> None:
    query, pkce = consent(google, "dora@example.net")
    body = exchange(google, query["code"], pkce.verifier).json()
    account = google.state.account("dora@example.net")
    assert account is not None and account.sub.isdigit()
    info = google.state.access_token_info(body["access_token"])
    assert info is not None and info.sub == account.sub


def test_driver_raises_on_an_error_page(google: SandboxServer) -> None:
    with pytest.raises(ConsentError) as caught:
        approve_consent(requests.Session(), auth_url(google, Pkce(), client_id="x"), "a@b.c")
    assert caught.value.status == 401
    assert "invalid_client" in caught.value.text


def test_pages_carry_the_banner_and_links(google: SandboxServer) -> None:
    for path in ("/", "/myaccount/permissions", "/_sandbox/risc"):
        response = requests.get(google.url + path)
        assert response.status_code == 200
        assert BANNER in response.text
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_mounted_under_a_prefix_links_and_forms_keep_the_prefix() -> None:
    state = SandboxState()
    mounts = {"/_sandbox/google": create_sandbox_app(state)}
    outer = DispatcherMiddleware(Response("service", 404), mounts)
    server = make_server("127.0.0.1", 0, outer, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/_sandbox/google"
        home = requests.get(base + "/").text
        assert 'href="/_sandbox/google/myaccount/permissions"' in home
        pkce = Pkce()
        mounted = SimpleNamespace(url=base, state=state)
        callback = approve_consent(requests.Session(), auth_url(mounted, pkce), "alice@example.com")
        assert "code" in query_of(callback)
        assert state.base_url == base  # learnt from the first request: the issuer of its tokens
    finally:
        server.shutdown()
        server.server_close()
