"""Engines for the SQL store: SQLite's pragmas and BEGIN IMMEDIATE, PostgreSQL's pre-ping, and
the WAL checkpoint that leaves no purged byte behind on SQLite."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

_BUSY_TIMEOUT_MS = 10000
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # Deleted cells and freed pages are zeroed, so purged secrets leave no bytes behind.
    "PRAGMA secure_delete=ON",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module (see _SQLiteDialect) and set the pragmas
    # outside any transaction, where journal_mode can change.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma).fetchall()
    finally:
        cursor.close()


_READONLY_ATTR = "_token_store_sqlite_readonly"


class _SQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite, with this store's own BEGIN (registered as ``sqlite+token_store``).

    Take the write lock up front: a deferred transaction that reads and then writes fails
    with "database is locked" when another writer got in between, whereas BEGIN IMMEDIATE
    waits (busy_timeout) and then proceeds. Callers that only read say so with
    ``execution_options(sqlite_readonly=True)`` and get a plain BEGIN, which does not block
    writers (WAL).

    This is SQLAlchemy's documented pysqlite recipe (the sqlite3 module's own BEGIN turned
    off at connect, ours issued when a transaction begins), done in the dialect's
    ``do_begin`` rather than a ``begin`` event: any connection event listener sends every
    statement of the engine through SQLAlchemy's event dispatch, which cost a send a fifth of
    its database time.
    """

    supports_statement_cache = True

    def set_connection_execution_options(self, connection: Connection,
                                         opts: Mapping[str, Any]) -> None:
        super().set_connection_execution_options(connection, opts)
        if "sqlite_readonly" in opts:
            # On this checkout's pool proxy: a new one per checkout, so the flag never
            # outlives the Connection that asked for it (not even under StaticPool).
            setattr(connection.connection, _READONLY_ATTR, bool(opts["sqlite_readonly"]))

    def do_begin(self, dbapi_connection: Any) -> None:
        readonly = getattr(dbapi_connection, _READONLY_ATTR, False)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
        finally:
            cursor.close()


registry.register("sqlite.token_store", __name__, "_SQLiteDialect")


def _is_memory_sqlite(database: str | None, query: Any) -> bool:
    return not database or database == ":memory:" or query.get("mode") == "memory"


def make_engine(url: str, **kw: Any) -> Engine:
    """An Engine set up for this store: SQLite pragmas and BEGIN IMMEDIATE, or pre-ping.

    Creates the parent folder of a SQLite file database. Keyword arguments go to
    ``create_engine`` and win over the defaults chosen here.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if _is_memory_sqlite(parsed.database, parsed.query):
            # One shared connection, so every thread sees the same in-memory database.
            kw.setdefault("poolclass", pool.StaticPool)
            kw.setdefault("connect_args", {"check_same_thread": False})
        elif parsed.database and not parsed.database.startswith("file:"):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
            parsed = parsed.set(drivername="sqlite+token_store")
        engine = create_engine(parsed, **kw)
        event.listen(engine, "connect", _on_sqlite_connect)  # a pool event: no per-statement cost
        return engine
    if backend == "postgresql":
        kw.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kw)


# For a long run of large write batches (key rotation): each of its batches dirties some
# 1,000 pages, mostly leaves of the prefix-MAC index (random values), which the next batch
# dirties again. At SQLite's default of a checkpoint per 1,000 WAL pages each batch's pages
# were copied into the database file again; per 4,000 a page is copied once for several
# batches, and the larger page cache (64 MiB) keeps those leaves in memory between batches.
_BULK_PRAGMAS = {"wal_autocheckpoint": 4000, "cache_size": -64 * 1024}


@contextmanager
def bulk_writes(conn: Connection) -> Iterator[None]:
    """Tune ``conn`` (SQLite; other databases are left alone) for many large write batches,
    restoring its settings afterwards, then fold what the WAL holds into the database.

    Call outside a transaction; ``conn`` must stay checked out for the whole block.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    dbapi: Any = conn.connection.driver_connection
    saved = {name: dbapi.execute(f"PRAGMA {name}").fetchone()[0] for name in _BULK_PRAGMAS}
    for name, value in _BULK_PRAGMAS.items():
        dbapi.execute(f"PRAGMA {name}={int(value)}")
    try:
        yield
    finally:
        for name, value in saved.items():
            dbapi.execute(f"PRAGMA {name}={int(value)}")
        # PASSIVE waits for nobody; the WAL then does not hand the next writer (a send, say)
        # up to 4,000 pages to checkpoint on its own commit.
        dbapi.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def checkpoint(engine: Engine, attempts: int = 3, busy_ms: int = 2000) -> bool:
    """Fold the SQLite write-ahead log into the database file and truncate it.

    Call after a purge commits, and while no transaction is open on this engine (not even
    the caller's own): until then the WAL still holds the deleted bytes, and TRUNCATE
    waits for every writer to finish. Returns True when the WAL is empty afterwards
    (always True off SQLite), False when writers or readers kept it busy every attempt.
    """
    if engine.dialect.name != "sqlite":
        return True
    for attempt in range(attempts):
        raw = engine.raw_connection()
        try:
            # On the DB-API connection, outside SQLAlchemy's transaction handling: the
            # pragma must not run inside the BEGIN IMMEDIATE a Connection would start.
            dbapi: Any = raw.driver_connection
            # A shorter wait than the usual busy_timeout: a caller that forgot to end its
            # own transaction would otherwise stall for attempts x 10 s.
            dbapi.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            try:
                busy = dbapi.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            finally:
                dbapi.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        finally:
            raw.close()
        if not busy:
            return True
        time.sleep(0.05 * (attempt + 1))
    log.warning("wal checkpoint stayed busy after %d attempts", attempts)
    return False
