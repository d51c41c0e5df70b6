"""idempotency persistence. (Filled in by the issue that owns it.)"""

from __future__ import annotations

from sqlalchemy import Connection


class IdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
