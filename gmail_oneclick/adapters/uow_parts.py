"""What the SQL and the in-memory unit of work share, so the two cannot drift apart: the
domain events a transaction records for services.handlers, the webhook events it hands to the
dispatcher once committed, and the outbox's three ends of a delivery attempt."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gmail_oneclick.domain.events import Event


class RecordsEvents:
    """``record`` and ``collect_events`` of ports.UnitOfWork, and what commit() does with them."""

    _events: list[Event]
    # Called with the webhook events this transaction queued, once it has committed.
    on_commit: Callable[[Sequence[str]], None] | None

    def record(self, event: Event) -> None:
        """Note what happened; services.handlers acts on it before this transaction commits."""
        self._events.append(event)

    def collect_events(self) -> list[Event]:
        """The events recorded so far, in order, handed over once (the list is emptied)."""
        events, self._events = self._events, []
        return events

    def _refuse_unhandled_events(self) -> None:
        """Before a commit: their purge and notification belong in this transaction."""
        if self._events:
            raise RuntimeError("unit of work committed with unhandled domain events")

    def _hand_over_queued_webhooks(self) -> None:
        """After a commit: the outbox rows it added go to ``on_commit`` (the dispatcher)."""
        outbox = self.__dict__.get("outbox")
        if outbox is not None and outbox.added:
            added, outbox.added = outbox.added, []
            if self.on_commit is not None:
                self.on_commit(added)


class FinishesDeliveries:
    """The outbox's ends of a delivery attempt, each a ``_finish`` guarded on the lease owner."""

    def _finish(self, event_id: str, lease_owner: str, **values: Any) -> bool:
        """Clear the lease and set ``values`` if ``lease_owner`` still holds it."""
        raise NotImplementedError

    def mark_delivered(self, event_id: str, lease_owner: str, *, at: datetime,
                       attempts: int, status: int) -> bool:
        return self._finish(event_id, lease_owner, delivered_at=at, attempts=attempts,
                            last_status=status)

    def mark_retry(self, event_id: str, lease_owner: str, *, next_at: datetime,
                   attempts: int, status: int) -> bool:
        return self._finish(event_id, lease_owner, next_attempt_at=next_at, attempts=attempts,
                            last_status=status)

    def mark_failed(self, event_id: str, lease_owner: str, *, at: datetime,
                    attempts: int, status: int) -> bool:
        return self._finish(event_id, lease_owner, failed_at=at, attempts=attempts,
                            last_status=status)
