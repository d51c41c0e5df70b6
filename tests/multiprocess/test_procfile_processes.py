"""Production shape: gunicorn (3 workers x 4 threads) and two checkers on one PostgreSQL database.

What a user would notice if the processes did not coordinate: Google seeing a token refresh per
send instead of one per connection (and rate-limiting the client), a connection verified twice
per round (double the quota), or a site never hearing that a connection was made or revoked.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import requests
from sqlalchemy import select, update
from standardwebhooks import Webhook

from gmail_oneclick.adapters.storage.tables import connections, webhook_outbox
from gmail_oneclick.domain.model import Status
from gmail_oneclick.sandbox.gmail_state import gmail_state
from tests.conftest import PG_URL, RegisteredSite, register_site
from tests.multiprocess.conftest import (
    BIN,
    SWEEP_SECONDS,
    Receiver,
    Stack,
    connect,
    procfile,
    wait_until,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (a PostgreSQL server): "
                       "several processes share one database only there"),
]

# Long enough for every checker to run two more sweeps: a double verification would show.
QUIET = 2.5 * SWEEP_SECONDS


def _site(container: Any, receiver: Receiver) -> RegisteredSite:
    return register_site(container, name="Hooked", origin="https://blog.example.com",
                         webhook_url=receiver.url)


def _refreshes(sandbox: Any, emails: list[str]) -> dict[str, int]:
    return {e: sandbox.state.refresh_count_for(e) for e in emails}


def _make_due(container: Any) -> None:
    """Every connected connection due for its check now (as CHECK_INTERVAL later)."""
    with container.engine.begin() as conn:
        conn.execute(update(connections).where(connections.c.status == Status.CONNECTED.value)
                     .values(next_check_at=datetime.now(UTC) - timedelta(seconds=1)))


def _expire_cached_tokens(container: Any) -> None:
    with container.engine.begin() as conn:
        conn.execute(update(connections).values(
            access_token_expires_at=datetime.now(UTC) - timedelta(seconds=5)))


def _outbox(container: Any) -> list[Any]:
    with container.engine.connect() as conn:
        return list(conn.execute(select(webhook_outbox)).all())


def _verified_round(stack: Stack, sandbox: Any, container: Any, emails: list[str]) -> None:
    """Make all due, wait until each is refreshed, then through more sweeps: exactly once."""
    before = _refreshes(sandbox, emails)
    _make_due(container)
    wait_until(lambda: all(sandbox.state.refresh_count_for(e) > before[e] for e in emails),
               15, "one checker refresh per connection", stack)
    time.sleep(QUIET)
    assert _refreshes(sandbox, emails) == {e: before[e] + 1 for e in emails}, stack.logs()


def _send_many(
    stack: Stack, site: RegisteredSite, accounts: dict[str, str], n: int
) -> Counter[int]:
    def send(i: int) -> int:
        email, cid = list(accounts.items())[i % len(accounts)]
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = email, "reader@example.net", f"Note {i}"
        msg.set_content("Hello from a worker.\n")
        raw = base64.urlsafe_b64encode(msg.as_bytes()).decode().rstrip("=")
        response = requests.post(f"{stack.url}/v1/messages", headers=site.auth, timeout=30,
                                 json={"raw": raw, "connection_id": cid})
        return response.status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        return Counter(pool.map(send, range(n)))


def _delivered_exactly_once(container: Any, receiver: Receiver, site: RegisteredSite,
                            stack: Stack) -> list[dict[str, Any]]:
    """Wait for the outbox to drain; every event reached the receiver once with a 2xx, signed.
    Returns the verified payloads."""
    wait_until(lambda: all(r.delivered_at is not None for r in _outbox(container)), 20,
               "every webhook delivered", stack)
    time.sleep(QUIET)  # a late duplicate from the other checker would land now
    rows = _outbox(container)
    accepted = receiver.accepted()
    by_id = Counter(d.id for d in accepted)
    assert {r.id for r in rows} == set(by_id), "an event never reached the receiver"
    assert [i for i, n in by_id.items() if n > 1] == [], "an event was delivered twice"
    assert all(r.failed_at is None for r in rows)
    hook = Webhook(site.webhook_secret)
    return [hook.verify(d.body, d.headers) for d in accepted]


def _remove_access_at_google(sandbox: Any, emails: list[str]) -> None:
    """Each account's owner clicks "Remove access" in their Google account."""
    for email in emails:
        sandbox.state.revoke_grant(email)


def _checked_until_reconnect_required(stack: Stack, container: Any, ids: list[str]) -> None:
    """Every connection due for its check; then wait up to 15 s for the checkers to mark all
    of ``ids`` reconnect_required."""
    _make_due(container)
    wait_until(lambda: _statuses(container, ids) == {Status.RECONNECT_REQUIRED.value}, 15,
               "both revocations detected", stack)


def _connected_and_revoked(payloads: list[dict[str, Any]]
                           ) -> tuple[set[str], set[tuple[str, str]]]:
    """The connection ids of connection.connected events, and (connection id, reason) of
    connection.revoked ones."""
    connected = {p["data"]["connection_id"] for p in payloads
                 if p["type"] == "connection.connected"}
    revoked = {(p["data"]["connection_id"], p["data"]["reason"]) for p in payloads
               if p["type"] == "connection.revoked"}
    return connected, revoked


def test_web_workers_and_two_checkers_never_double_a_refresh_or_a_check_nor_lose_a_webhook(
    stack: Stack, sandbox: Any, container: Any, receiver: Receiver
) -> None:
    site = _site(container, receiver)
    emails = ["ann@example.com", "ben@example.com", "cat@example.com"]
    accounts = {e: connect(stack, site, e) for e in emails}

    # A fresh grant needs no check until CHECK_INTERVAL; then exactly one of the two checkers
    # refreshes each connection.
    assert _refreshes(sandbox, emails) == dict.fromkeys(emails, 0)
    _verified_round(stack, sandbox, container, emails)

    # Gmail refuses the cached tokens (expired at Google only): 60 sends over 3 connections
    # across 3 workers x 4 threads -> one refresh per connection, every message sent.
    sandbox.state.expire_access_tokens()
    assert _send_many(stack, site, accounts, 60) == {200: 60}, stack.logs()
    assert _refreshes(sandbox, emails) == dict.fromkeys(emails, 2), stack.logs()
    # Our cached expiry passed too (an hour of quiet): the same, through the lease up front.
    sandbox.state.expire_access_tokens()
    _expire_cached_tokens(container)
    assert _send_many(stack, site, accounts, 60) == {200: 60}, stack.logs()
    assert _refreshes(sandbox, emails) == dict.fromkeys(emails, 3), stack.logs()
    assert len(gmail_state(sandbox.state).sent) == 120

    # Two check rounds with both checkers sweeping every second: once per connection per round.
    for _ in range(2):
        _verified_round(stack, sandbox, container, emails)

    # Revoked at Google ("Remove access") while two more sites' admins connect: the checkers
    # purge, and every connected/revoked event reaches the site exactly once.
    _remove_access_at_google(sandbox, emails[:2])
    more = {e: connect(stack, site, e) for e in ["dan@example.com", "eve@example.com"]}
    _checked_until_reconnect_required(stack, container, [accounts[e] for e in emails[:2]])

    connected, revoked = _connected_and_revoked(
        _delivered_exactly_once(container, receiver, site, stack))
    assert connected == {*accounts.values(), *more.values()}
    assert revoked == {(accounts[e], "invalid_grant") for e in emails[:2]}
    assert receiver.refused(), "no delivery was retried: the receiver's 503s never happened"
    assert all(p.alive() for p in stack.procs), stack.logs()


def _statuses(container: Any, ids: list[str]) -> set[str]:
    with container.engine.connect() as conn:
        rows = conn.execute(select(connections.c.status).where(connections.c.id.in_(ids)))
        return {r.status for r in rows}


def test_the_other_checker_carries_on_when_one_is_killed(
    stack: Stack, sandbox: Any, container: Any, receiver: Receiver
) -> None:
    site = _site(container, receiver)
    emails = ["fay@example.com", "gus@example.com", "hal@example.com"]
    accounts = {e: connect(stack, site, e) for e in emails}
    _verified_round(stack, sandbox, container, emails)
    _delivered_exactly_once(container, receiver, site, stack)

    stack.kill_9(stack.checkers[0])

    sandbox.state.revoke_grant(emails[0])
    late = connect(stack, site, "ivy@example.com")
    _verified_round(stack, sandbox, container, emails[1:])
    assert _statuses(container, [accounts[emails[0]]]) == {Status.RECONNECT_REQUIRED.value}
    payloads = _delivered_exactly_once(container, receiver, site, stack)
    assert {(p["type"], p["data"]["connection_id"]) for p in payloads} >= {
        ("connection.revoked", accounts[emails[0]]), ("connection.connected", late)}
    assert stack.checkers[1].alive() and stack.web.alive()
    assert "checker sweep" in stack.checkers[1].log.read_text()


def test_the_release_step_is_idempotent_and_web_exposes_every_process_metrics(
    stack: Stack,
) -> None:
    """``release`` ran before start (fixture); a second deploy's release changes nothing, and
    /metrics answers from any worker with the multiprocess registry."""
    release = procfile()["release"]
    again = subprocess.run([str(BIN / release[0]), *release[1:]], cwd=stack.workdir,
                           env=stack.env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["upgraded"] is False
    for _ in range(6):  # several requests: they land on different workers
        scrape = requests.get(f"{stack.url}/metrics", timeout=5)
        assert scrape.status_code == 200
        # The checkers' sweeps, written by other processes into the shared directory.
        [sweeps] = [line.split()[-1] for line in scrape.text.splitlines()
                    if line.startswith("gmail_oneclick_checker_sweep_duration_seconds_count")]
        assert float(sweeps) >= 2
    log = stack.web.log.read_text().splitlines()
    assert log and all(json.loads(line)["level"] for line in log), "non-JSON log line"
