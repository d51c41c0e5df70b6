"""Gmail and Google failing in the ways Google documents, and how the plugin sees it."""

from __future__ import annotations

import threading
import time
from typing import Any

from gmail_oneclick.domain.model import ACCESS_TOKEN, REFRESH_TOKEN, Status, connection_owner
from gmail_oneclick.sandbox.gmail_state import GmailSandbox
from tests.integration.sending.conftest import expire_cached_token, make_message


def _code(response: Any) -> str:
    return str(response.get_json()["error"]["code"])


def test_429_becomes_rate_limited_with_googles_retry_after(post: Any, alice: Any,
                                                           gmail: GmailSandbox):
    gmail.inject_fault("429")
    response = post(make_message())
    assert response.status_code == 429
    assert _code(response) == "rate_limited"
    # The sandbox said "Retry after <now + 7 s>" in its message (fixture: retry_after_seconds).
    assert 6 <= int(response.headers["Retry-After"]) <= 8
    assert gmail.send_requests == 1 and gmail.sent_count() == 0


def test_user_rate_limit_403_becomes_rate_limited(post: Any, alice: Any, gmail: GmailSandbox):
    gmail.inject_fault("user_rate")
    response = post(make_message())
    assert response.status_code == 429 and _code(response) == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1


def test_503_is_retried_then_upstream_unavailable(post: Any, alice: Any, gmail: GmailSandbox,
                                                  fast_retries: None):
    gmail.inject_fault("503", count=10)
    response = post(make_message())
    assert response.status_code == 503
    assert _code(response) == "upstream_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert gmail.send_requests == 3  # settings.gmail_send_attempts
    assert gmail.sent_count() == 0


def test_a_passing_500_is_retried_and_the_send_succeeds(post: Any, alice: Any,
                                                        gmail: GmailSandbox, fast_retries: None):
    gmail.inject_fault("500", count=2)
    response = post(make_message())
    assert response.status_code == 200
    assert gmail.send_requests == 3 and gmail.sent_count() == 1


def test_a_slow_gmail_times_out_into_delivery_unknown_and_is_never_sent_twice(
        post: Any, alice: Any, gmail: GmailSandbox, fast_retries: None, container: Any):
    from gmail_oneclick.adapters.google.gmail import GmailApiClient

    container.gmail = GmailApiClient(container.settings.replace(http_timeout=0.3))
    gmail.slow_seconds = 1.0
    gmail.inject_fault("slow", count=3)  # each request still sends, after the client gave up
    response = post(make_message())
    assert response.status_code == 504 and _code(response) == "delivery_unknown"
    deadline = time.monotonic() + 5  # the sandbox finishes the abandoned request
    while gmail.sent_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # room for a (wrong) second request to land too
    assert gmail.send_requests == 1 and gmail.sent_count() == 1


def test_gmail_401_refreshes_once_and_retries(post: Any, alice: Any, gmail: GmailSandbox,
                                             sandbox: Any):
    before = sandbox.state.refresh_count
    gmail.inject_fault("401")
    response = post(make_message())
    assert response.status_code == 200, response.get_json()
    assert sandbox.state.refresh_count == before + 1
    assert gmail.send_requests == 2 and gmail.sent_count() == 1


def test_token_rejected_twice_is_not_a_loop(post: Any, alice: Any, gmail: GmailSandbox,
                                           sandbox: Any):
    before = sandbox.state.refresh_count
    gmail.inject_fault("401", count=5)
    response = post(make_message())
    assert response.status_code == 503
    assert sandbox.state.refresh_count == before + 1
    assert gmail.send_requests == 2


def test_expired_access_token_at_google_is_refreshed_and_persisted(
        post: Any, container: Any, alice: Any, gmail: GmailSandbox, sandbox: Any):
    sandbox.state.expire_access_tokens("alice@example.com")
    assert post(make_message()).status_code == 200
    with container.uow() as uow:
        stored = uow.tokens.get(connection_owner(alice.id), ACCESS_TOKEN).decode()
    assert sandbox.state.access_token_info(stored) is not None
    before = sandbox.state.refresh_count
    assert post(make_message()).status_code == 200
    assert sandbox.state.refresh_count == before  # the persisted token is reused


def test_revoked_grant_purges_and_answers_reconnect_required(
        post: Any, container: Any, alice: Any, gmail: GmailSandbox, sandbox: Any):
    sandbox.state.revoke_grant("alice@example.com")
    response = post(make_message())
    assert response.status_code == 409
    assert _code(response) == "reconnect_required"
    with container.uow() as uow:
        owner = connection_owner(alice.id)
        assert uow.tokens.get(owner, REFRESH_TOKEN) is None
        assert uow.tokens.get(owner, ACCESS_TOKEN) is None
        connection = uow.connections.get(alice.id)
        events = [e["type"] for e in uow.audit.for_connection(alice.id)]
    assert connection.status is Status.RECONNECT_REQUIRED
    assert connection.revocation_reason == "invalid_grant"
    assert "connection:revoked" in events
    assert gmail.sent_count() == 0
    # And the next send is refused before anything goes upstream.
    calls = gmail.send_requests
    assert _code(post(make_message())) == "reconnect_required"
    assert gmail.send_requests == calls


def test_token_endpoint_outage_never_purges(post: Any, container: Any, alice: Any,
                                            sandbox: Any):
    expire_cached_token(container, alice.id)
    sandbox.state.inject_token_fault("503")
    response = post(make_message())
    assert response.status_code == 503 and _code(response) == "upstream_unavailable"
    with container.uow() as uow:
        assert uow.tokens.get(connection_owner(alice.id), REFRESH_TOKEN) is not None
        assert uow.connections.get(alice.id).status is Status.CONNECTED
    assert post(make_message()).status_code == 200


def test_concurrent_sends_on_an_expired_token_refresh_exactly_once(
        app: Any, container: Any, site: Any, alice: Any, gmail: GmailSandbox, sandbox: Any):
    from tests.integration.sending.conftest import b64url

    expire_cached_token(container, alice.id)
    sandbox.state.expire_access_tokens("alice@example.com")
    before = sandbox.state.refresh_count
    start = threading.Barrier(20)
    statuses: list[int] = []

    def send() -> None:
        client = app.test_client()
        start.wait()
        response = client.post("/v1/messages", json={"raw": b64url(make_message())},
                               headers=site.auth)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [200] * 20
    assert sandbox.state.refresh_count == before + 1
    assert gmail.sent_count() == 20


def test_two_processes_sharing_the_database_refresh_once(
        settings: Any, container: Any, site: Any, alice: Any, sandbox: Any):
    """Two independent containers (own engine, own pools: what two processes have)."""
    from gmail_oneclick.bootstrap import build
    from gmail_oneclick.services import tokens

    other = build(settings)
    expire_cached_token(container, alice.id)
    before = sandbox.state.refresh_count
    start = threading.Barrier(10)
    got: list[str] = []

    def fetch(c: Any) -> None:
        start.wait()
        got.append(tokens.access_token(c.uow, c.google, c.clock, alice.id))

    threads = [threading.Thread(target=fetch, args=(c,)) for c in [container, other] * 5]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    other.engine.dispose()
    assert len(got) == 10 and len(set(got)) == 1
    assert sandbox.state.refresh_count == before + 1
