"""Compare-and-set claims: how leases, the webhook outbox and the checker take rows.

A claim is an UPDATE whose WHERE repeats the condition that made the row free, so of two
processes that both saw it free exactly one changes it (``rowcount == 1``). On SQLite every
transaction begins IMMEDIATE; on PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED``
so a second claimer passes over rows the first is taking instead of waiting for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, Table, update


def claim_row(conn: Connection, table: Table, row_id: str, free: ColumnElement[bool],
              values: Mapping[str, Any]) -> bool:
    """Set ``values`` on the row ``row_id`` only while ``free`` holds; True when this won it."""
    result = conn.execute(update(table).where(table.c.id == row_id, free).values(**values))
    return result.rowcount == 1


def claim_rows(conn: Connection, table: Table, candidates: Select[Any], free: ColumnElement[bool],
               values: Mapping[str, Any]) -> list[Row[Any]]:
    """The rows of ``candidates`` (a select with an ``id`` column) this transaction claimed with
    ``values``, in their order; a row another claimer took first is left out."""
    if conn.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    return [row for row in conn.execute(candidates).all()
            if claim_row(conn, table, row.id, free, values)]
