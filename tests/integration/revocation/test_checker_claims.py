"""The checker's claims on due connections: short, renewed while the sweep works, so a checker
that died holding them delays their checks by CLAIM_HOLD (seconds), not a quarter of an hour.

The service's clock is a FakeClock; the renewing heartbeat beats in real time, fast.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gmail_oneclick.entrypoints import checker
from gmail_oneclick.services import heartbeat
from tests.integration.consent.conftest import FakeClock
from tests.integration.revocation.conftest import connection_row
from tests.waiting import wait_for


def _claim(container: Any) -> tuple[list[str], datetime]:
    """What a sweep's first step does: claim every due connection; returns them and the hold."""
    now = container.clock.now()
    hold = now + checker.CLAIM_HOLD
    with container.uow() as uow:
        claimed: list[str] = uow.connections.claim_due_for_check(now, limit=100, hold_until=hold)
        uow.commit()
    return claimed, hold


def test_a_dead_checkers_claims_are_checked_by_another_soon_after(
        container: Any, sandbox: Any, link: Any, site: Any) -> None:
    container.clock = clock = FakeClock(datetime.now(UTC))
    ids = {link(site.id, e).id for e in ["alice@example.com", "bob@example.com"]}
    claimed, _ = _claim(container)  # ... and the checker was SIGKILLed right after
    assert set(claimed) == ids
    before = sandbox.state.refresh_count

    clock.advance(seconds=5)
    assert checker.sweep(container)["claimed"] == 0  # still held: no double check

    clock.advance(seconds=25)  # half a minute after the crash (it was a quarter of an hour)
    counts = checker.sweep(container)
    assert (counts["claimed"], counts["verified"]) == (2, 2)
    assert sandbox.state.refresh_count == before + 2
    for cid in ids:
        row = connection_row(container, cid)
        assert row is not None and row.last_verified_at == clock.now()


def test_a_working_checker_keeps_its_claims_only_while_they_are_pending(
        container: Any, link: Any, site: Any) -> None:
    container.clock = clock = FakeClock(datetime.now(UTC))
    done = link(site.id, "alice@example.com").id
    pending = link(site.id, "bob@example.com").id
    claimed, hold = _claim(container)
    with heartbeat.keep_claims(container.uow, clock, claimed, hold, checker.CLAIM_HOLD,
                               every=0.05):
        # One connection verified (its next check scheduled), the other still in the queue.
        later = clock.now() + timedelta(hours=1)
        with container.uow() as uow:
            uow.connections.schedule_check(done, later)
            uow.commit()
        clock.advance(seconds=checker.CLAIM_HOLD.total_seconds() + 5)
        wait_for(lambda: connection_row(container, pending).next_check_at > clock.now(),
                 "the sweep's heartbeat to renew its claim")
        assert _claim(container)[0] == []  # another checker finds nothing to take
        assert connection_row(container, done).next_check_at == later  # left as scheduled
    # The sweep is gone: its last claim lapses within CLAIM_HOLD, then the other takes it.
    clock.advance(seconds=checker.CLAIM_HOLD.total_seconds() + 1)
    assert _claim(container)[0] == [pending]


def test_claim_times_outlast_the_refresh_lease_they_may_leave_behind() -> None:
    """A dead checker's claim must lapse after its refresh lease, or the next checker finds the
    connection "busy" and puts its check off by a minute more."""
    from gmail_oneclick.services import tokens

    assert checker.CLAIM_HOLD.total_seconds() >= tokens.LEASE_SECONDS + heartbeat.RENEW_SECONDS
    assert tokens.LEASE_SECONDS >= 3 * heartbeat.RENEW_SECONDS  # a beat or two may be late
    assert timedelta(minutes=1) >= checker.CLAIM_HOLD
