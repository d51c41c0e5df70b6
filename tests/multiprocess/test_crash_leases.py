"""A checker SIGKILLed in the middle of refreshes, under the Procfile's processes on PostgreSQL.

What a user would notice if its leases outlived it: sends on its connections waiting half a
minute each and failing for a minute (every gunicorn thread tied up meanwhile), and the
connections it had claimed going unchecked for a quarter of an hour. Leases and claims are
renewed by their holder while it works, so a dead holder's lapse within seconds.
"""

from __future__ import annotations

import base64
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from gmail_oneclick.adapters.storage.tables import connections
from gmail_oneclick.domain.model import Status
from gmail_oneclick.settings import Settings
from tests.conftest import PG_URL, RegisteredSite, register_site
from tests.multiprocess.conftest import Proc, Stack, connect, wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (a PostgreSQL server): "
                       "several processes share one database only there"),
]

LEASE = 15  # services.tokens.LEASE_SECONDS, as documented: what a send may be told to wait
STALLED = 4  # the checker's workers (stack_settings' checker_concurrency), all stuck at Google
EMAILS = [f"{n}@example.com" for n in ["jon", "kim", "lou", "mae", "ned", "ola"]]


@pytest.fixture
def stack_settings(stack_settings: Settings) -> Settings:
    """Token calls may take 30 s, so a stalled refresh is still running when its checker dies."""
    return stack_settings.replace(http_timeout=30.0)


@pytest.fixture
def paused(stack: Stack) -> Iterator[Proc]:
    """checker-2 stopped (SIGSTOP) so that checker-1 claims everything; resumed at teardown."""
    other = stack.checkers[1]
    other.signal_group(signal.SIGSTOP)
    try:
        yield other
    finally:
        other.signal_group(signal.SIGCONT)


def _leases_of(container: Any, proc: Proc) -> list[str]:
    """Connections whose refresh lease ``proc`` holds (a checker's owner names its pid)."""
    with container.engine.connect() as conn:
        rows = conn.execute(select(connections.c.id).where(
            connections.c.lease_owner.like(f"%:{proc.popen.pid}:%")))
        return [r.id for r in rows]


def _send(stack: Stack, site: RegisteredSite, connection_id: str) -> tuple[requests.Response,
                                                                            float]:
    """POST /v1/messages on ``connection_id``; the answer and when it arrived (monotonic)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "jon@example.com", "reader@example.net", "Hi"
    msg.set_content("Sent while a checker lay dead.\n")
    raw = base64.urlsafe_b64encode(msg.as_bytes()).decode().rstrip("=")
    response = requests.post(f"{stack.url}/v1/messages", headers=site.auth, timeout=90,
                             json={"raw": raw, "connection_id": connection_id})
    return response, time.monotonic()


def _verified_since(container: Any, ids: list[str], since: datetime) -> bool:
    with container.engine.connect() as conn:
        rows = conn.execute(select(connections.c.last_verified_at, connections.c.status)
                            .where(connections.c.id.in_(ids))).all()
    return all(r.status == Status.CONNECTED.value and r.last_verified_at is not None
               and r.last_verified_at > since for r in rows)


def _site_with_connections(stack: Stack, container: Any) -> tuple[RegisteredSite, dict[str, str]]:
    """A site with one connection per address of ``EMAILS``; the connection ids by address."""
    site = register_site(container, name="Crash", origin="https://blog.example.com")
    return site, {e: connect(stack, site, e) for e in EMAILS}


def _stall_mid_refresh(stack: Stack, sandbox: Any, container: Any, victim: Proc) -> list[str]:
    """Every connection due for a check with its access token expired, while Google's token
    endpoint hangs for the next ``STALLED`` calls; returns the connections whose refresh leases
    ``victim`` holds once all its workers are stuck."""
    sandbox.state.slow_seconds = 20.0
    sandbox.state.inject_token_fault("timeout", STALLED)
    with container.engine.begin() as conn:
        conn.execute(update(connections).values(
            next_check_at=datetime.now(UTC) - timedelta(seconds=1),
            access_token_expires_at=datetime.now(UTC) - timedelta(seconds=5)))
    held: list[str] = wait_until(lambda: len(_leases_of(container, victim)) == STALLED
                                 and _leases_of(container, victim), 15,
                                 "checker-1 stalled mid-refresh", stack)
    return held


def _kill_9_and_resume_the_other(stack: Stack, victim: Proc, paused: Proc
                                 ) -> tuple[float, datetime]:
    """SIGKILL ``victim`` and let the paused checker run; when it died (monotonic, and UTC)."""
    killed_at, crash = time.monotonic(), datetime.now(UTC)
    stack.kill_9(victim)
    paused.signal_group(signal.SIGCONT)
    return killed_at, crash


def _timed_send(stack: Stack, site: RegisteredSite, connection_id: str
                ) -> tuple[requests.Response, float]:
    """One send on ``connection_id``: the answer and the seconds it took."""
    started = time.monotonic()
    response, ended = _send(stack, site, connection_id)
    return response, ended - started


def _send_at_once(stack: Stack, site: RegisteredSite, connection_id: str, n: int
                  ) -> tuple[list[tuple[requests.Response, float]], float]:
    """``n`` sends on ``connection_id`` at the same time: each answer with when it arrived,
    and the seconds until the last one did."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=n) as pool:
        burst = list(pool.map(lambda _: _send(stack, site, connection_id), range(n)))
    return burst, max(ended for _, ended in burst) - started


def test_a_checker_killed_mid_refresh_blocks_sends_and_checks_for_seconds_only(
    stack: Stack, paused: Proc, sandbox: Any, container: Any
) -> None:
    site, accounts = _site_with_connections(stack, container)
    victim = stack.checkers[0]

    # Google's token endpoint hangs for the next four calls: checker-1 claims all six due
    # connections and its four workers stall mid-refresh, holding their refresh leases.
    target = _stall_mid_refresh(stack, sandbox, container, victim)[0]
    killed_at, crash = _kill_9_and_resume_the_other(stack, victim, paused)

    # A send on a connection whose lease the dead checker held is told within seconds (it does
    # not wait out a refresh that will never end) how long the lease may still last.
    first, took = _timed_send(stack, site, target)
    assert took < 10, f"a send held its thread {took:.1f} s"
    assert first.status_code == 503 and first.json()["error"]["code"] == "upstream_unavailable"
    assert 1 <= int(first.headers["Retry-After"]) <= LEASE

    # 30 at once on 3 workers x 4 threads: each holds a thread a few seconds, so all answer
    # in a few rounds of that (a 30 s wait each tied up every thread for a minute).
    burst, slowest = _send_at_once(stack, site, target, 30)
    assert slowest < 25, f"the last of 30 sends took {slowest:.1f} s\n{stack.logs()}"
    refused = [r for r, _ in burst if r.status_code != 200]
    assert all(r.status_code == 503 for r in refused), [r.text for r in refused]
    assert all(r.json()["error"]["code"] == "upstream_unavailable" for r in refused)
    assert refused, "no send met the dead checker's lease"
    waits = [int(r.headers["Retry-After"]) for r in refused]
    assert all(1 <= w <= LEASE for w in waits), waits

    # Within about one lease of the crash, a send takes the lease over and goes through.
    sent_after = _first_success(stack, site, target, killed_at, burst)
    assert sent_after < 2 * LEASE, f"first send went through {sent_after:.1f} s after the crash"

    # Everything the dead checker had claimed (stalled or still queued) is verified by the
    # other checker soon after, and nothing was purged for a transient failure.
    wait_until(lambda: _verified_since(container, list(accounts.values()), crash), 45,
               "checker-2 to verify checker-1's claims", stack)
    assert time.monotonic() - killed_at < 60
    assert all(sandbox.state.refresh_count_for(e) >= 1 for e in EMAILS)
    assert stack.checkers[1].alive() and stack.web.alive()


def _first_success(stack: Stack, site: RegisteredSite, connection_id: str, killed_at: float,
                   burst: list[tuple[requests.Response, float]]) -> float:
    """Seconds from the crash to the first send answered 200: one of the burst's, else from a
    retry every second (an impatient plugin that ignores Retry-After)."""
    done = [ended for r, ended in burst if r.status_code == 200]
    while not done and time.monotonic() - killed_at < 90:
        response, ended = _send(stack, site, connection_id)
        if response.status_code == 200:
            done.append(ended)
        time.sleep(1)
    return (min(done) if done else time.monotonic()) - killed_at
