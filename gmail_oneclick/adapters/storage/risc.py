"""Security Event Tokens already seen, by ``jti``: Google may push one event more than once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete
from sqlalchemy.dialects import postgresql, sqlite

from gmail_oneclick.adapters.storage.tables import risc_events


class RiscRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def remember(self, jti: str, event_types: list[str], at: datetime) -> bool:
        """Record ``jti``; False when it was already recorded (a replay: do nothing again).

        ON CONFLICT DO NOTHING rather than catching IntegrityError, because on PostgreSQL a
        failed INSERT would abort the caller's whole transaction.
        """
        values: dict[str, Any] = {"jti": jti, "received_at": at, "types": event_types}
        statement: Any
        if self.conn.dialect.name == "postgresql":
            statement = postgresql.insert(risc_events).values(**values)
        else:
            statement = sqlite.insert(risc_events).values(**values)
        # RETURNING rather than rowcount, which psycopg reports as -1 for this statement.
        inserted = self.conn.execute(
            statement.on_conflict_do_nothing(index_elements=["jti"]).returning(risc_events.c.jti)
        ).first()
        return inserted is not None

    def forget_before(self, cutoff: datetime) -> int:
        """Drop jti records received before ``cutoff``. The caller keeps them longer than the
        replay window (google.risc.jti_retention): older tokens are refused by their ``iat``."""
        result = self.conn.execute(delete(risc_events).where(risc_events.c.received_at < cutoff))
        return int(result.rowcount)
