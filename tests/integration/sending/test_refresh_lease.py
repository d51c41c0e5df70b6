"""The refresh lease after its holder died: a send never waits long for it, is told the real
wait, and takes the lease over once it ends. A live holder keeps it by renewing.

The service's clock is a FakeClock (lease times), while the wait a send may hold a worker
thread for is real time, measured loosely.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gmail_oneclick.services import heartbeat, tokens
from tests.integration.consent.conftest import FakeClock
from tests.integration.sending.conftest import expire_cached_token
from tests.waiting import wait_for

DEAD = "checker:host:4242:dead"


def _hold(container: Any, connection_id: str, owner: str = DEAD) -> datetime:
    """``owner`` takes the refresh lease now, as a refresh's first step does; its end."""
    with container.uow() as uow:
        now = container.clock.now()
        until = now + timedelta(seconds=tokens.LEASE_SECONDS)
        assert uow.leases.acquire(connection_id, owner, now, until)
        uow.commit()
    return until


def _holder(container: Any, connection_id: str) -> tuple[str | None, datetime | None]:
    with container.uow() as uow:
        held: tuple[str | None, datetime | None] = uow.leases.holder(connection_id)
        return held


def _timed(post: Callable[..., Any]) -> tuple[Any, float]:
    started = time.monotonic()
    response = post()
    return response, time.monotonic() - started


def test_a_dead_holders_lease_costs_a_send_seconds_and_says_the_real_wait_then_is_taken_over(
        post: Any, alice: Any, sandbox: Any, container: Any) -> None:
    container.clock = clock = FakeClock(datetime.now(UTC))
    expire_cached_token(container, alice.id)
    _hold(container, alice.id)  # a checker took it, then was SIGKILLed mid-refresh
    before = sandbox.state.refresh_count

    clock.advance(seconds=3)
    busy, waited = _timed(post)
    assert busy.status_code == 503, busy.get_data(as_text=True)
    assert busy.get_json()["error"]["code"] == "upstream_unavailable"
    # The rest of the dead holder's lease (seconds, not a minute), not a fixed guess.
    assert busy.headers["Retry-After"] == str(tokens.LEASE_SECONDS - 3)
    assert int(busy.headers["Retry-After"]) <= 15
    assert waited < 10, f"a send held its thread {waited:.1f} s for someone else's refresh"
    assert sandbox.state.refresh_count == before

    clock.advance(seconds=15)  # 18 s after the crash the lease has ended: nobody renewed it
    sent, waited = _timed(post)
    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert sandbox.state.refresh_count == before + 1
    assert _holder(container, alice.id) == (None, None)


def test_a_live_holder_renews_its_lease_and_keeps_it_past_its_first_end(
        post: Any, alice: Any, sandbox: Any, container: Any) -> None:
    container.clock = clock = FakeClock(datetime.now(UTC))
    expire_cached_token(container, alice.id)
    first_end = _hold(container, alice.id, "send:slow")
    with heartbeat.keep_lease(container.uow, clock, alice.id, "send:slow",
                              tokens.LEASE_SECONDS, every=0.05):
        clock.advance(seconds=tokens.LEASE_SECONDS + 5)  # past the lease as first taken
        wait_for(lambda: (_holder(container, alice.id)[1] or first_end) > clock.now(),
                 "the holder's heartbeat to renew its lease")
        busy = post()
        assert busy.status_code == 503
        assert busy.get_json()["error"]["code"] == "upstream_unavailable"
        assert 1 <= int(busy.headers["Retry-After"]) <= tokens.LEASE_SECONDS
        assert _holder(container, alice.id)[0] == "send:slow"
    # The holder stopped (crashed): one lease later the next send takes over.
    clock.advance(seconds=tokens.LEASE_SECONDS + 1)
    assert post().status_code == 200
    assert _holder(container, alice.id) == (None, None)


def test_a_heartbeat_stops_once_its_lease_is_released_or_taken_over(
        alice: Any, container: Any) -> None:
    _hold(container, alice.id, "send:a")
    with container.uow() as uow:
        uow.leases.release(alice.id, "send:a")
        assert uow.leases.acquire(alice.id, "send:b", container.clock.now(),
                                  container.clock.now() + timedelta(seconds=5))
        uow.commit()
    with heartbeat.keep_lease(container.uow, container.clock, alice.id, "send:a",
                              tokens.LEASE_SECONDS, every=0.02) as beat:
        wait_for(lambda: not beat._thread.is_alive(), "the heartbeat to stop by itself")
    owner, until = _holder(container, alice.id)
    assert owner == "send:b" and until is not None
    assert until <= container.clock.now() + timedelta(seconds=5)  # never extended by "a"
