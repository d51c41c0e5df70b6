"""SQLAlchemy Core tables and the SQL TokenStore, plus engine setup for SQLite/PostgreSQL.

``SqlTokenStore`` works inside the caller's connection and transaction and never
commits: a purge must land in the same unit of work as the caller's status change and
outbox row, or not at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    or_,
    pool,
    select,
    union,
)
from sqlalchemy.dialects import postgresql, registry, sqlite
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url

from token_store.keyring import Keyring
from token_store.store import EnvelopeStore, SealedRow

log = logging.getLogger(__name__)

metadata = MetaData()

data_keys = Table(
    "ts_data_keys",
    metadata,
    Column("owner", String(128), primary_key=True),
    Column("kek_id", String(64), nullable=False, index=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True), nullable=True),
)

secrets_table = Table(
    "ts_secrets",
    metadata,
    Column("owner", String(128), primary_key=True),
    Column("purpose", String(64), primary_key=True),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

token_ids = Table(
    "ts_token_ids",
    metadata,
    Column("owner", String(128), primary_key=True),
    Column("hash_sha512", String(88), nullable=False, index=True),
    Column("prefix_mac", String(64), nullable=False, index=True),
    Column("mac_kek_id", String(64), nullable=False),
)


# Built once: SQLAlchemy then reuses their compiled form and cache key on every execution.
_SELECT_DEK = select(data_keys.c.kek_id, data_keys.c.wrapped_key).where(
    data_keys.c.owner == bindparam("owner"))
_SELECT_SECRET = select(secrets_table.c.ciphertext).where(
    secrets_table.c.owner == bindparam("owner"), secrets_table.c.purpose == bindparam("purpose"))
# A secret and its owner's data key in one round trip (the key may be missing: tampering).
_SELECT_SEALED = (
    select(secrets_table.c.ciphertext, data_keys.c.kek_id, data_keys.c.wrapped_key)
    .select_from(secrets_table.outerjoin(data_keys, data_keys.c.owner == secrets_table.c.owner))
    .where(secrets_table.c.owner == bindparam("owner"),
           secrets_table.c.purpose == bindparam("purpose"))
)


def _now() -> datetime:
    return datetime.now(UTC)


def _insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, which offers ON CONFLICT on SQLite and PostgreSQL."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"token_store supports sqlite and postgresql, not {name}")


class SqlTokenStore(EnvelopeStore):
    """TokenStore on ``conn``; the caller begins and commits the transaction."""

    def __init__(self, conn: Connection, keyring: Keyring) -> None:
        super().__init__(keyring)
        self.conn = conn

    def _dek_row(self, owner: str) -> tuple[str, bytes] | None:
        row = self.conn.execute(_SELECT_DEK, {"owner": owner}).one_or_none()
        return None if row is None else (row.kek_id, bytes(row.wrapped_key))

    def _insert_dek_row(self, owner: str, kek_id: str, wrapped: bytes) -> None:
        stmt = _insert(self.conn, data_keys).values(
            owner=owner, kek_id=kek_id, wrapped_key=wrapped, created_at=_now()
        )
        self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["owner"]))

    def _secret_row(self, owner: str, purpose: str) -> bytes | None:
        value = self.conn.execute(
            _SELECT_SECRET, {"owner": owner, "purpose": purpose}).scalar_one_or_none()
        return None if value is None else bytes(value)

    def _sealed_row(self, owner: str, purpose: str) -> SealedRow | None:
        row = self.conn.execute(
            _SELECT_SEALED, {"owner": owner, "purpose": purpose}).one_or_none()
        if row is None:
            return None
        dek = None if row.kek_id is None else (row.kek_id, bytes(row.wrapped_key))
        return bytes(row.ciphertext), dek

    def _upsert_secret(self, owner: str, purpose: str, ciphertext: bytes) -> None:
        stmt = _insert(self.conn, secrets_table).values(
            owner=owner, purpose=purpose, ciphertext=ciphertext, updated_at=_now()
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["owner", "purpose"],
                set_={
                    "ciphertext": stmt.excluded.ciphertext,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
        )

    def _delete_secret(self, owner: str, purpose: str) -> int:
        result = self.conn.execute(
            delete(secrets_table).where(
                secrets_table.c.owner == owner, secrets_table.c.purpose == purpose
            )
        )
        return int(result.rowcount)

    def _delete_owner(self, owner: str) -> int:
        deleted = 0
        for table in (token_ids, secrets_table, data_keys):
            deleted += int(self.conn.execute(delete(table).where(table.c.owner == owner)).rowcount)
        return deleted

    def _upsert_token_ids(self, owner: str, hash_b64: str, mac: str, mac_kek_id: str) -> None:
        stmt = _insert(self.conn, token_ids).values(
            owner=owner, hash_sha512=hash_b64, prefix_mac=mac, mac_kek_id=mac_kek_id
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["owner"],
                set_={
                    "hash_sha512": stmt.excluded.hash_sha512,
                    "prefix_mac": stmt.excluded.prefix_mac,
                    "mac_kek_id": stmt.excluded.mac_kek_id,
                },
            )
        )

    def _owners_with_hash(self, hash_b64: str) -> list[str]:
        query = select(token_ids.c.owner).where(token_ids.c.hash_sha512 == hash_b64)
        return list(self.conn.execute(query).scalars())

    def _owners_with_mac(self, macs: dict[str, str]) -> list[str]:
        if not macs:
            return []
        matches = [
            and_(token_ids.c.mac_kek_id == kek_id, token_ids.c.prefix_mac == mac)
            for kek_id, mac in macs.items()
        ]
        return list(self.conn.execute(select(token_ids.c.owner).where(or_(*matches))).scalars())

    def _kek_ids(self) -> set[str]:
        return kek_ids_in_use(self.conn)


def kek_ids_in_use(conn: Connection) -> set[str]:
    """Every KEK id stored DEKs are wrapped with or prefix MACs are computed under."""
    query = union(
        select(data_keys.c.kek_id.label("kek_id")).distinct(),
        select(token_ids.c.mac_kek_id.label("kek_id")).distinct(),
    )
    return set(conn.execute(query).scalars())


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
