"""No request or checker statement reads a whole table: the database's own query plan says
which index each one uses.

Each statement is captured as the storage layer sends it and explained by the database that
runs it: SQLite's ``EXPLAIN QUERY PLAN`` must show only ``SEARCH ... USING ...`` steps, never
``SCAN``; PostgreSQL's ``EXPLAIN`` (with sequential scans priced out, as on a large table) must
show no ``Seq Scan`` and no index scan without an index condition (a whole index read in order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, event

from gmail_oneclick.adapters.storage.audit import AuditRepository
from gmail_oneclick.adapters.storage.consent import ConsentRepository
from gmail_oneclick.adapters.storage.idempotency import IdempotencyRepository
from gmail_oneclick.adapters.storage.outbox import OutboxRepository
from gmail_oneclick.adapters.storage.tables import make_engine

NOW = datetime(2026, 11, 1, tzinfo=UTC)

STATEMENTS: dict[str, Callable[[Connection], Any]] = {
    # privacy forget: blank the email of queued and past webhook events of these connections
    "outbox e-mail scrub": lambda c: OutboxRepository(c).scrub_email(["conn_a", "conn_b"]),
    # requests: each new connect link and each consent start delete what has expired
    "connect link expiry": lambda c: ConsentRepository(c).delete_links_expired_before(NOW),
    "OAuth state expiry": lambda c: ConsentRepository(c).states_expired_before(NOW),
    # the checker's retention prune
    "audit prune": lambda c: AuditRepository(c).prune_before(NOW, limit=100),
    "idempotency prune": lambda c: IdempotencyRepository(c).delete_expired(NOW, limit=100),
    "webhook prune": lambda c: OutboxRepository(c).prune_finished_before(NOW, limit=100),
}


def _explain(cursor: Any, statement: str, parameters: Any, dialect: str) -> list[str]:
    raw = cursor.connection
    if dialect == "sqlite":
        rows = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        return [str(r[-1]) for r in rows]
    with raw.cursor() as explain:
        explain.execute("SET LOCAL enable_seqscan = off")
        explain.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        return list(_pg_scans(explain.fetchone()[0][0]["Plan"]))


def _pg_scans(node: dict[str, Any]) -> Iterator[str]:
    """One line per scan node: ``SCAN`` when it reads a whole table or a whole index."""
    kind = node["Node Type"]
    if kind == "Seq Scan" or ("Index" in kind and "Index Cond" not in node):
        yield f"SCAN {node.get('Relation Name') or node.get('Index Name')} ({kind})"
    elif "Scan" in kind:
        yield f"SEARCH {node.get('Relation Name') or node.get('Index Name')} ({kind})"
    for child in node.get("Plans", []):
        yield from _pg_scans(child)


@contextmanager
def plans_of(database_url: str) -> Iterator[tuple[Connection, list[tuple[str, list[str]]]]]:
    """A connection whose SELECT, UPDATE and DELETE statements are explained as they run."""
    engine = make_engine(database_url)
    seen: list[tuple[str, list[str]]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in {"SELECT", "UPDATE", "DELETE"}:
            seen.append((statement, _explain(cursor, statement, parameters,
                                             engine.dialect.name)))

    try:
        with engine.connect() as conn:
            yield conn, seen
            conn.rollback()
    finally:
        engine.dispose()


def whole_table_reads(plan: list[str]) -> list[str]:
    return [step for step in plan if step.startswith("SCAN ")]


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_statement_finds_its_rows_through_an_index(database_url: str, name: str) -> None:
    with plans_of(database_url) as (conn, seen):
        STATEMENTS[name](conn)
    assert seen, "no statement was captured"
    for statement, plan in seen:
        assert not whole_table_reads(plan), f"{name} reads a whole table:\n{statement}\n{plan}"
