"""Audit trail: a tag like ``connection:revoked`` and minimal metadata, never content."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from gmail_oneclick.adapters.storage.tables import audit_events
from gmail_oneclick.domain.model import aware

# Keys an audit record may carry. Anything else is dropped, so content can never slip in.
ALLOWED_KEYS = frozenset(
    {"reason", "outcome", "gmail_id", "recipients", "size", "code", "scopes", "trigger",
     "status", "attempts", "event_types", "count"}
)

# Built once (one row per send): SQLAlchemy reuses its compiled form.
_INSERT = insert(audit_events)


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def record(
        self,
        type_: str,
        at: datetime,
        *,
        site_id: str | None = None,
        connection_id: str | None = None,
        **data: Any,
    ) -> None:
        clean = {k: v for k, v in data.items() if k in ALLOWED_KEYS}
        self.conn.execute(_INSERT, {"at": at, "type": type_, "site_id": site_id,
                                    "connection_id": connection_id, "data": clean})

    def for_connection(self, connection_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(audit_events)
            .where(audit_events.c.connection_id == connection_id)
            .order_by(audit_events.c.at, audit_events.c.id)
        )
        return [{"at": aware(r.at), "type": r.type, "data": r.data} for r in rows]

    def prune_before(self, cutoff: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` events older than ``cutoff`` (the retention)."""
        old = select(audit_events.c.id).where(audit_events.c.at < cutoff).limit(limit)
        return int(self.conn.execute(delete(audit_events).where(audit_events.c.id.in_(old)))
                   .rowcount)
