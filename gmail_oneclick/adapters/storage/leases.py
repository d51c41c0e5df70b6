"""The refresh lease on a connection row: at most one process refreshes a connection at a time.

A lease is ``connections.lease_owner`` / ``lease_until``, taken by a compare-and-set UPDATE in a
short transaction (never held across the call to Google): it is free when empty, expired, or
already ours. Leases are short; the holder renews its own while it works (services.heartbeat),
so a lease outlives a crashed holder by seconds only. On SQLite every transaction begins
IMMEDIATE, on PostgreSQL the UPDATE locks the row, so two processes can never both see it free.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, or_, select, update

from gmail_oneclick.adapters.storage.claims import claim_row
from gmail_oneclick.adapters.storage.tables import connections
from gmail_oneclick.domain.model import Status, aware


def _free(owner: str, now: datetime) -> ColumnElement[bool]:
    """A lease ``owner`` may take: connected, and empty, expired or already its own."""
    t = connections.c
    return and_(
        t.status == Status.CONNECTED.value,
        or_(t.lease_owner.is_(None), t.lease_until.is_(None), t.lease_until <= now,
            t.lease_owner == owner),
    )


class LeaseRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def acquire(self, connection_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take (or extend) a connected connection's lease; False when another owner holds it."""
        lease = {"lease_owner": owner, "lease_until": until}
        return claim_row(self.conn, connections, connection_id, _free(owner, now), lease)

    def acquire_many(self, connection_ids: list[str], owner: str, now: datetime,
                     until: datetime) -> list[str]:
        """``acquire`` for each of ``connection_ids`` in one compare-and-set UPDATE; the ids won.

        The same guarantee as ``acquire``: SQLite runs it inside BEGIN IMMEDIATE, PostgreSQL
        locks each row and re-checks the condition after a concurrent holder commits.
        """
        if not connection_ids:
            return []
        t = connections.c
        result = self.conn.execute(
            update(connections)
            .where(t.id.in_(connection_ids), _free(owner, now))
            .values(lease_owner=owner, lease_until=until)
            .returning(t.id)
        )
        return [row.id for row in result]

    def renew_many(self, connection_ids: list[str], owner: str, until: datetime) -> int:
        """``renew`` each lease of ``connection_ids`` still ours; how many were."""
        if not connection_ids:
            return 0
        t = connections.c
        result = self.conn.execute(
            update(connections)
            .where(t.id.in_(connection_ids), t.lease_owner == owner)
            .values(lease_until=until)
        )
        return int(result.rowcount)

    def release_many(self, connection_ids: list[str], owner: str) -> None:
        """``release`` each of ``connection_ids`` still ours."""
        if not connection_ids:
            return
        t = connections.c
        self.conn.execute(
            update(connections)
            .where(t.id.in_(connection_ids), t.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    def renew(self, connection_id: str, owner: str, until: datetime) -> bool:
        """Move our lease's end to ``until`` (the holder's heartbeat); False when it is not ours
        any more (released, or taken over after it lapsed)."""
        t = connections.c
        result = self.conn.execute(
            update(connections)
            .where(t.id == connection_id, t.lease_owner == owner)
            .values(lease_until=until)
        )
        return result.rowcount == 1

    def release(self, connection_id: str, owner: str) -> None:
        """Give the lease back (a no-op when it is not ours any more)."""
        t = connections.c
        self.conn.execute(
            update(connections)
            .where(t.id == connection_id, t.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    def holder(self, connection_id: str) -> tuple[str | None, datetime | None]:
        """(owner, until) of the current lease: a waiting send's Retry-After, tests."""
        t = connections.c
        row = self.conn.execute(
            select(t.lease_owner, t.lease_until).where(t.id == connection_id)
        ).first()
        return (row.lease_owner, aware(row.lease_until)) if row else (None, None)
