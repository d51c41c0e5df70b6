"""Fixed-window counters shared by every process through the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gmail_oneclick.adapters.storage.tables import rate_limits
from gmail_oneclick.domain.model import aware


class RateLimitRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def hit(self, bucket: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """Count one event in ``bucket``'s current window. Returns (count, window end)."""
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        self.conn.execute(
            insert(rate_limits)
            .values(bucket=bucket, window_start=now, count=0)
            .on_conflict_do_nothing(index_elements=["bucket"])
        )
        window_start, used = self.conn.execute(
            select(rate_limits.c.window_start, rate_limits.c.count)
            .where(rate_limits.c.bucket == bucket)
            .with_for_update()
        ).one()
        start = aware(window_start)
        assert start is not None
        count = int(used) + 1
        if now - start >= window:
            start, count = now, 1
        self.conn.execute(
            update(rate_limits)
            .where(rate_limits.c.bucket == bucket)
            .values(window_start=start, count=count)
        )
        return count, start + window
