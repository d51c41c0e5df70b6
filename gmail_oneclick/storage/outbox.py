"""Webhook outbox: events queued in the same transaction as the change they announce."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from gmail_oneclick.db import webhook_outbox


class OutboxRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, *, event_id: str, site_id: str, type_: str, payload: dict[str, Any],
            at: datetime) -> None:
        self.conn.execute(
            insert(webhook_outbox).values(
                id=event_id, site_id=site_id, type=type_, payload=payload, created_at=at,
                next_attempt_at=at, attempts=0,
            )
        )
