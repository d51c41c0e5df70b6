"""Webhook outbox: events queued in the same transaction as the change they announce.

Delivery claims due rows with a short lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a
compare-and-set on the lease columns everywhere), so two checkers (or a checker and the
in-process dispatcher of the process that queued the event) never post one event at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, insert, or_, select, update

from gmail_oneclick.adapters.storage.claims import claim_row, claim_rows
from gmail_oneclick.adapters.storage.tables import webhook_outbox
from gmail_oneclick.adapters.uow_parts import FinishesDeliveries
from gmail_oneclick.domain.model import aware
from gmail_oneclick.domain.records import OutboxEvent


def _due(now: datetime) -> Any:
    t = webhook_outbox.c
    return and_(
        t.delivered_at.is_(None),
        t.failed_at.is_(None),
        t.next_attempt_at <= now,
        or_(t.lease_until.is_(None), t.lease_until < now),
    )


def _event(row: Row[Any]) -> OutboxEvent:
    return OutboxEvent(row.id, row.site_id, row.type, dict(row.payload),
                       aware(row.created_at), row.attempts)  # type: ignore[arg-type]


class OutboxRepository(FinishesDeliveries):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # Events added in this transaction: the unit of work hands them to the in-process
        # dispatcher once its commit succeeded.
        self.added: list[str] = []

    def add(self, *, event_id: str, site_id: str, type_: str, payload: dict[str, Any],
            at: datetime, connection_id: str | None = None) -> None:
        self.conn.execute(
            insert(webhook_outbox).values(
                id=event_id, site_id=site_id, type=type_, payload=payload, created_at=at,
                next_attempt_at=at, attempts=0, connection_id=connection_id,
            )
        )
        self.added.append(event_id)

    def claim_due(
        self, now: datetime, *, limit: int, lease_owner: str, lease_until: datetime
    ) -> list[OutboxEvent]:
        """Lease up to ``limit`` due events, oldest first. The caller commits at once."""
        query = (select(webhook_outbox).where(_due(now))
                 .order_by(webhook_outbox.c.next_attempt_at).limit(limit))
        lease = {"lease_owner": lease_owner, "lease_until": lease_until}
        won = claim_rows(self.conn, webhook_outbox, query, _due(now), lease)
        return [_event(row) for row in won]

    def claim(self, event_id: str, now: datetime, *, lease_owner: str,
              lease_until: datetime) -> OutboxEvent | None:
        """Lease this one event if it is still due (None when delivered, failed, backing off or
        leased by someone else). The caller commits at once."""
        lease = {"lease_owner": lease_owner, "lease_until": lease_until}
        if not claim_row(self.conn, webhook_outbox, event_id, _due(now), lease):
            return None
        return _event(self.conn.execute(
            select(webhook_outbox).where(webhook_outbox.c.id == event_id)).one())

    def _finish(self, event_id: str, lease_owner: str, **values: Any) -> bool:
        t = webhook_outbox.c
        result = self.conn.execute(
            update(webhook_outbox)
            .where(t.id == event_id, t.lease_owner == lease_owner)
            .values(lease_owner=None, lease_until=None, **values)
        )
        return result.rowcount == 1

    def get(self, event_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(webhook_outbox).where(webhook_outbox.c.id == event_id))
        found = row.first()
        return dict(found._mapping) if found else None

    def list_for_site(self, site_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(webhook_outbox).where(webhook_outbox.c.site_id == site_id)
            .order_by(webhook_outbox.c.created_at)
        )
        return [dict(r._mapping) for r in rows]

    def scrub_email(self, connection_ids: list[str]) -> int:
        """Blank the email in queued or past events of these connections (privacy forget)."""
        if not connection_ids:
            return 0
        wanted = set(connection_ids)
        changed = 0
        t = webhook_outbox.c
        rows = self.conn.execute(
            select(t.id, t.payload).where(t.connection_id.in_(connection_ids))).all()
        for row in rows:
            payload = dict(row.payload)
            data = dict(payload.get("data") or {})
            if data.get("connection_id") in wanted and data.get("email") is not None:
                data["email"] = None
                payload["data"] = data
                self.conn.execute(
                    update(webhook_outbox).where(webhook_outbox.c.id == row.id)
                    .values(payload=payload)
                )
                changed += 1
        return changed

    def prune_finished_before(self, cutoff: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` delivered or failed events created before ``cutoff``."""
        t = webhook_outbox.c
        old = (select(t.id).where(t.created_at < cutoff,
                                  or_(t.delivered_at.is_not(None), t.failed_at.is_not(None)))
               .limit(limit))
        return int(self.conn.execute(delete(webhook_outbox).where(t.id.in_(old))).rowcount)
