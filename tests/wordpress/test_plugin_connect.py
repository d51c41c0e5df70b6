"""Connecting a Gmail account from the settings screen, through the service and Google's consent."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import requests

from gmail_oneclick.sandbox.driver import approve_consent, deny_consent
from tests.wordpress.conftest import Service
from tests.wordpress.plugin_flow import (
    connect,
    results,
    settings_page,
    start_connect,
    texts,
)


def test_connect_through_google_lists_the_account(service: Service) -> None:
    session = service.wordpress.login()
    connection_id, landing = connect(service, session, "alice@example.com")
    assert results(landing) == [
        "Gmail is connected: alice@example.com now sends this site’s email. "
        "Send a test email below to check."
    ]
    assert texts(landing, "gmail-oneclick-account") == ["alice@example.com"]
    assert texts(landing, "gmail-oneclick-status") == ["Connected"]
    assert f'data-connection-id="{connection_id}"' in landing


def _to_google(service: Service, session: requests.Session) -> str:
    """Click Connect, then "Continue with Google" on the service's page: Google's URL."""
    connect_url = start_connect(service, session)
    page = session.get(connect_url, timeout=10)
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    to_google = session.post(connect_url, data={"csrf_token": token}, allow_redirects=False,
                             timeout=10)
    return urljoin(connect_url, to_google.headers["Location"])


def _denied_return(service: Service, session: requests.Session) -> str:
    """Cancel at Google's consent screen; the URL the service sends the browser back to."""
    callback = deny_consent(session, _to_google(service, session))
    back = session.get(callback, allow_redirects=False, timeout=10)
    assert back.status_code == 303, back.text
    return back.headers["Location"]


def _with(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | params
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_cancelled_consent_says_so_and_what_to_do(service: Service) -> None:
    session = service.wordpress.login()
    back = _denied_return(service, session)
    assert "reason=access_denied" in back
    landing = session.get(back, timeout=30).text
    assert results(landing) == [
        "Nothing was connected because the Google consent screen was cancelled. "
        "Click “Connect Gmail” again and choose Allow."
    ]


def test_unticked_gmail_permission_says_so(service: Service) -> None:
    session = service.wordpress.login()
    callback = approve_consent(session, _to_google(service, session), "bob@example.com",
                               grant_gmail_send=False)
    # The service explains on its own page, whose button leads back to the plugin.
    explained = session.get(callback, timeout=10).text
    back = html.unescape(re.findall(r'<a class="button" href="([^"]+)"', explained)[-1])
    assert "reason=scope_missing" in back
    landing = session.get(back, timeout=30).text
    assert results(landing) == [
        "Nothing was connected because Google was not allowed to send email for that account "
        "(a permission box was unticked). Click “Connect Gmail” again and leave every box ticked."
    ]
    assert service.connections() == []


def test_every_other_reason_gets_its_own_sentence(service: Service) -> None:
    session = service.wordpress.login()
    back = _denied_return(service, session)
    expected = {
        "expired": "Nothing was connected because the connect link expired before consent was "
                   "finished. Click “Connect Gmail” again and finish within a few minutes.",
        "upstream_error": "Nothing was connected because Google could not be reached to finish "
                          "connecting. Wait a minute, then click “Connect Gmail” again.",
        "teapot_overflow": "Nothing was connected: the service reported a problem it did not "
                           "explain (code “teapot_overflow”). Click “Connect Gmail” again; if it "
                           "keeps failing, ask whoever runs your Gmail one-click service.",
    }
    for reason, sentence in expected.items():
        landing = session.get(_with(back, reason=reason), timeout=30).text
        assert results(landing) == [sentence], reason


def test_a_result_without_this_sites_nonce_is_ignored(service: Service) -> None:
    session = service.wordpress.login()
    back = _with(_denied_return(service, session), gmail_oneclick_nonce="0123456789")
    landing = session.get(back, timeout=30).text
    assert results(landing) == [
        "This connect result could not be verified (the link is too old or was not started from "
        "this screen), so it was ignored. Click “Connect Gmail” to start again."
    ]


def test_reconnecting_after_revocation_clears_the_notice(service: Service) -> None:
    session = service.wordpress.login()
    connection_id, _ = connect(service, session, "alice@example.com")
    service.sandbox.remove_access("alice@example.com")
    # The service notices at the next send; the plugin learns it from the list.
    refused = requests.post(
        service.url + "/v1/messages", timeout=10,
        data=b"From: alice@example.com\r\nTo: x@example.com\r\nSubject: s\r\n\r\nbody\r\n",
        headers={**service.site.auth, "Content-Type": "message/rfc822"})
    assert refused.status_code == 409
    page = settings_page(service.wordpress, session)
    assert texts(page, "gmail-oneclick-revoked-notice")
    (status,) = texts(page, "gmail-oneclick-status")
    assert status.startswith("Access removed — reconnect (")
    again, landing = connect(service, session, "alice@example.com")
    assert again == connection_id
    assert texts(landing, "gmail-oneclick-revoked-notice") == []
    assert texts(landing, "gmail-oneclick-status") == ["Connected"]
