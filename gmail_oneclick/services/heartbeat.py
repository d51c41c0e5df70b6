"""Heartbeats: a holder renews its short lease while it works, so a crash frees it soon.

A lease that must outlive the slowest piece of work (a minute for a token call) also blocks
everyone for that long after its holder dies. Instead, holders take short leases and a
background thread renews them every few seconds while the holder is still working; a holder
that is SIGKILLed stops renewing, and others take the lease over once it ends.

``Heartbeat(renew, every)`` is the thread; ``keep_lease`` renews a connection's refresh lease
(services.tokens), ``keep_leases`` a checker batch's, and ``keep_claims`` the checker's claims
on due connections. A renewal that
finds nothing left to renew (released, done, or taken over after a stall) stops the heartbeat;
one that fails (database down for a moment) is retried at the next beat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from gmail_oneclick.ports import Clock, UowFactory

log = logging.getLogger(__name__)

# Every lease below is renewed every RENEW_SECONDS; three beats fit in the shortest one, so a
# holder that is merely slow (a busy machine) does not lose it.
RENEW_SECONDS = 5.0


class Heartbeat:
    """Calls ``renew()`` every ``every`` seconds on a daemon thread until stopped or until
    ``renew`` answers False (nothing left to renew)."""

    def __init__(self, renew: Callable[[], bool], every: float = RENEW_SECONDS,
                 name: str = "heartbeat") -> None:
        self._renew = renew
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=self._every + 5)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                if not self._renew():
                    return
            except Exception as exc:  # the next beat retries; the lease may lapse meanwhile
                log.warning("lease renewal failed", extra={"error": type(exc).__name__})


@contextmanager
def keep_lease(uow_factory: UowFactory, clock: Clock, connection_id: str, owner: str,
               seconds: float, *, every: float = RENEW_SECONDS) -> Iterator[Heartbeat]:
    """Renew ``owner``'s refresh lease on ``connection_id`` to ``seconds`` from each beat."""

    def renew() -> bool:
        with uow_factory() as uow:
            kept = uow.leases.renew(connection_id, owner,
                                    clock.now() + timedelta(seconds=seconds))
            uow.commit()
        return kept

    with Heartbeat(renew, every, name="refresh-lease") as beat:
        yield beat


@contextmanager
def keep_claims(uow_factory: UowFactory, clock: Clock, connection_ids: list[str],
                held_until: datetime, hold: timedelta, *,
                every: float = RENEW_SECONDS) -> Iterator[Heartbeat]:
    """Push the checker's claims (``next_check_at == held_until``) ``hold`` past each beat,
    for those not verified yet; a verified connection has its next check scheduled instead."""
    if not connection_ids:  # nothing claimed: no thread
        yield Heartbeat(lambda: False, every)
        return
    current = [held_until]

    def renew() -> bool:
        until = clock.now() + hold
        with uow_factory() as uow:
            kept = uow.connections.renew_claims(connection_ids, current[0], until)
            uow.commit()
        current[0] = until
        return kept > 0

    with Heartbeat(renew, every, name="check-claims") as beat:
        yield beat


@contextmanager
def keep_leases(uow_factory: UowFactory, clock: Clock, connection_ids: list[str], owner: str,
                seconds: float, *, every: float = RENEW_SECONDS) -> Iterator[Heartbeat]:
    """``keep_lease`` for a batch: one thread renews every lease of ``connection_ids`` that is
    ``owner``'s at each beat (the checker takes and gives back leases as it goes) until the
    block ends."""
    if not connection_ids:
        yield Heartbeat(lambda: False, every)
        return

    def renew() -> bool:
        with uow_factory() as uow:
            uow.leases.renew_many(connection_ids, owner,
                                  clock.now() + timedelta(seconds=seconds))
            uow.commit()
        return True

    with Heartbeat(renew, every, name="refresh-leases") as beat:
        yield beat
