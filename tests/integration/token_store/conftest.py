"""Fixtures for token_store: keyrings, and one ``Backend`` per storage implementation.

A Backend hands out stores sharing one set of rows (under any keyring), and raw access to
those rows so tests can tamper with stored bytes the way an attacker with the database
could. SQL backends share one connection per test; ``commit()`` ends its transaction.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select, text, update

from token_store import (
    Keyring,
    MemoryTokenStore,
    SqlTokenStore,
    TokenStore,
    generate_key_entry,
    make_engine,
    metadata,
)
from token_store.sql import data_keys, secrets_table, token_ids

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture
def k1_entry() -> str:
    return generate_key_entry("k1")


@pytest.fixture
def k2_entry() -> str:
    return generate_key_entry("k2")


@pytest.fixture
def keyring(k1_entry: str) -> Keyring:
    """k1 only."""
    return Keyring.parse(k1_entry)


@pytest.fixture
def rotated_keyring(k1_entry: str, k2_entry: str) -> Keyring:
    """k2 primary, k1 still present: what an operator deploys before `keys rotate`."""
    return Keyring.parse(f"{k2_entry},{k1_entry}")


@pytest.fixture
def k2_only(k2_entry: str) -> Keyring:
    """k2 alone: the keyring after the old key has been removed."""
    return Keyring.parse(k2_entry)


class Backend:
    name = "abstract"

    def store(self, keyring: Keyring) -> TokenStore:
        raise NotImplementedError

    def commit(self) -> None:
        """Make writes durable (no-op in memory)."""

    def secret_bytes(self, owner: str, purpose: str) -> bytes:
        raise NotImplementedError

    def set_secret_bytes(self, owner: str, purpose: str, ciphertext: bytes) -> None:
        raise NotImplementedError

    def dek_row(self, owner: str) -> tuple[str, bytes]:
        raise NotImplementedError

    def set_dek_row(self, owner: str, kek_id: str, wrapped: bytes) -> None:
        raise NotImplementedError

    def token_id_row(self, owner: str) -> tuple[str, str, str] | None:
        raise NotImplementedError


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self) -> None:
        self.rows = MemoryTokenStore(Keyring.parse(generate_key_entry("unused")))

    def store(self, keyring: Keyring) -> TokenStore:
        store = MemoryTokenStore(keyring)
        store.data_keys, store.secrets, store.token_ids = (
            self.rows.data_keys,
            self.rows.secrets,
            self.rows.token_ids,
        )
        return store

    def secret_bytes(self, owner: str, purpose: str) -> bytes:
        return self.rows.secrets[(owner, purpose)]

    def set_secret_bytes(self, owner: str, purpose: str, ciphertext: bytes) -> None:
        self.rows.secrets[(owner, purpose)] = ciphertext

    def dek_row(self, owner: str) -> tuple[str, bytes]:
        return self.rows.data_keys[owner]

    def set_dek_row(self, owner: str, kek_id: str, wrapped: bytes) -> None:
        self.rows.data_keys[owner] = (kek_id, wrapped)

    def token_id_row(self, owner: str) -> tuple[str, str, str] | None:
        return self.rows.token_ids.get(owner)


class SqlBackend(Backend):
    def __init__(self, name: str, engine: Engine) -> None:
        self.name = name
        self.engine = engine
        self.conn: Connection = engine.connect()

    def store(self, keyring: Keyring) -> TokenStore:
        return SqlTokenStore(self.conn, keyring)

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    def secret_bytes(self, owner: str, purpose: str) -> bytes:
        query = select(secrets_table.c.ciphertext).where(
            secrets_table.c.owner == owner, secrets_table.c.purpose == purpose
        )
        return bytes(self.conn.execute(query).scalar_one())

    def set_secret_bytes(self, owner: str, purpose: str, ciphertext: bytes) -> None:
        stmt = secrets_table.insert().values(
            owner=owner, purpose=purpose, ciphertext=ciphertext, updated_at=datetime.now(UTC)
        )
        self.conn.execute(
            secrets_table.delete().where(
                secrets_table.c.owner == owner, secrets_table.c.purpose == purpose
            )
        )
        self.conn.execute(stmt)

    def dek_row(self, owner: str) -> tuple[str, bytes]:
        query = select(data_keys.c.kek_id, data_keys.c.wrapped_key).where(
            data_keys.c.owner == owner
        )
        kek_id, wrapped = self.conn.execute(query).one()
        return kek_id, bytes(wrapped)

    def set_dek_row(self, owner: str, kek_id: str, wrapped: bytes) -> None:
        self.conn.execute(
            update(data_keys)
            .where(data_keys.c.owner == owner)
            .values(kek_id=kek_id, wrapped_key=wrapped)
        )

    def token_id_row(self, owner: str) -> tuple[str, str, str] | None:
        query = select(token_ids.c.hash_sha512, token_ids.c.prefix_mac, token_ids.c.mac_kek_id)
        row = self.conn.execute(query.where(token_ids.c.owner == owner)).one_or_none()
        return None if row is None else (row[0], row[1], row[2])


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'tokens.sqlite'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """Tables in a fresh schema of TEST_DATABASE_URL, dropped afterwards."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = f"ts_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-c search_path={schema}"})
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sql_engine(request: pytest.FixtureRequest) -> Engine:
    """The SQL backends: a SQLite file, and PostgreSQL when TEST_DATABASE_URL is set."""
    fixture = "pg_engine" if request.param == "postgresql" else "sqlite_engine"
    engine: Engine = request.getfixturevalue(fixture)
    return engine


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    fixture = "pg_engine" if request.param == "postgresql" else "sqlite_engine"
    sql = SqlBackend(request.param, request.getfixturevalue(fixture))
    try:
        yield sql
    finally:
        sql.close()
