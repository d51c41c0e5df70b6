"""Retention: the checker deletes records once their retention has passed, so tables stay
bounded however many messages are sent.

Audit events, Idempotency-Key records and finished (delivered or failed) webhook events are
deleted in batches, each in its own short transaction: a large backlog (a first run after an
upgrade, a checker stopped for weeks) never holds one long transaction or lock. Each statement
finds its rows through an index on their time column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from gmail_oneclick.ports import Clock, UnitOfWork, UowFactory

# Rows per transaction, and transactions per table per sweep: a sweep deletes at most 100,000
# rows of a table; the next sweep goes on with the rest.
BATCH = 1000
MAX_BATCHES = 100


@dataclass(frozen=True)
class Retention:
    audit_days: int
    idempotency_hours: int
    webhook_days: int


def prune(uow_factory: UowFactory, clock: Clock, retention: Retention, *,
          batch: int = BATCH, max_batches: int = MAX_BATCHES) -> dict[str, int]:
    """Delete what has outlived its retention. Returns how many rows of each kind went."""
    now = clock.now()
    audit_cutoff = now - timedelta(days=retention.audit_days)
    idempotency_cutoff = now - timedelta(hours=retention.idempotency_hours)
    webhook_cutoff = now - timedelta(days=retention.webhook_days)

    def batches(delete_some: Callable[[UnitOfWork], int]) -> int:
        total = 0
        for _ in range(max_batches):
            with uow_factory() as uow:
                deleted = delete_some(uow)
                uow.commit()
            total += deleted
            if deleted < batch:
                break
        return total

    return {
        "audit_events_pruned": batches(
            lambda uow: uow.audit.prune_before(audit_cutoff, limit=batch)),
        "idempotency_records_pruned": batches(
            lambda uow: uow.idempotency.delete_expired(idempotency_cutoff, limit=batch)),
        "webhook_events_pruned": batches(
            lambda uow: uow.outbox.prune_finished_before(webhook_cutoff, limit=batch)),
    }
