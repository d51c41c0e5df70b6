"""SQLAlchemy Core tables and the SQL TokenStore (engine setup: engine.py).

``SqlTokenStore`` works inside the caller's connection and transaction and never
commits: a purge must land in the same unit of work as the caller's status change and
outbox row, or not at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    delete,
    or_,
    select,
    union,
)
from sqlalchemy.dialects import postgresql, sqlite

from token_store.keyring import Keyring
from token_store.store import EnvelopeStore, SealedRow

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


def _build_upsert_secret(conn: Connection) -> Any:
    stmt = _insert(conn, secrets_table).values(
        owner=bindparam("owner"), purpose=bindparam("purpose"),
        ciphertext=bindparam("ciphertext"), updated_at=bindparam("updated_at"))
    return stmt.on_conflict_do_update(
        index_elements=["owner", "purpose"],
        set_={"ciphertext": stmt.excluded.ciphertext, "updated_at": stmt.excluded.updated_at},
    )


# Built once per dialect: every stored token runs it (the checker, one per verified
# connection), and building the statement afresh each time cost more than executing it.
_UPSERT_SECRET: dict[str, Any] = {}


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
        name = self.conn.dialect.name
        stmt = _UPSERT_SECRET.get(name)
        if stmt is None:
            stmt = _UPSERT_SECRET[name] = _build_upsert_secret(self.conn)
        self.conn.execute(stmt, {"owner": owner, "purpose": purpose,
                                 "ciphertext": ciphertext, "updated_at": _now()})

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
