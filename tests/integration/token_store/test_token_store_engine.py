"""make_engine, checkpoint, and the store's place inside the caller's transaction."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, update

from token_store import SqlTokenStore, checkpoint, make_engine, metadata

OWNER = "connection:conn_abc"
PRAGMAS = ("journal_mode", "secure_delete", "foreign_keys", "busy_timeout", "synchronous")


def test_sqlite_connections_get_the_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'deeper' / 'x.sqlite'}")
    assert (tmp_path / "nested" / "deeper").is_dir()
    with engine.connect() as conn:
        settings = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in PRAGMAS
        }
    assert settings == {
        "journal_mode": "wal",
        "secure_delete": 1,
        "foreign_keys": 1,
        "busy_timeout": 10000,
        "synchronous": 1,  # NORMAL
    }
    engine.dispose()


def test_postgres_engines_pre_ping_and_checkpoint_is_a_no_op():
    engine = make_engine("postgresql+psycopg://user@127.0.0.1:1/none")  # never connects
    assert engine.pool._pre_ping is True
    assert checkpoint(engine) is True


def test_in_memory_sqlite_is_one_database_shared_by_threads(keyring):
    engine = make_engine("sqlite:///:memory:")
    metadata.create_all(engine)
    with engine.begin() as conn:
        SqlTokenStore(conn, keyring).put(OWNER, "refresh_token", b"r")
    seen: list[bytes | None] = []

    def read() -> None:
        with engine.connect() as conn:
            seen.append(SqlTokenStore(conn, keyring).get(OWNER, "refresh_token"))

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen == [b"r"]


def test_concurrent_read_then_write_transactions_serialise_instead_of_failing(tmp_path):
    # With a deferred BEGIN, two transactions that both read and then write collide with
    # "database is locked" (a lock upgrade is never retried) or lose updates.
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}", pool_size=8)
    counters = Table(
        "counters", MetaData(), Column("id", Integer, primary_key=True), Column("n", Integer)
    )
    counters.create(engine)
    with engine.begin() as conn:
        conn.execute(counters.insert().values(id=1, n=0))
    errors: list[BaseException] = []

    def increment() -> None:
        try:
            for _ in range(25):
                with engine.begin() as conn:
                    n = conn.execute(select(counters.c.n)).scalar_one()
                    conn.execute(update(counters).values(n=n + 1))
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=increment) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(select(counters.c.n)).scalar_one() == 150
    engine.dispose()


def _holds_write_lock(engine, **options) -> bool:
    """Whether a transaction that has only read blocks another connection's write."""
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True))
    table.create(engine, checkfirst=True)
    with engine.connect() as reader:
        if options:
            reader = reader.execution_options(**options)
        reader.execute(select(table.c.id)).all()  # the transaction is open from here
        writer = engine.raw_connection()
        try:
            writer.driver_connection.execute("PRAGMA busy_timeout=50")
            try:
                writer.driver_connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True
            writer.driver_connection.execute("ROLLBACK")
            return False
        finally:
            writer.close()


def test_transactions_take_the_write_lock_at_begin_unless_read_only(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}", pool_size=1, max_overflow=1)
    assert _holds_write_lock(engine) is True
    assert _holds_write_lock(engine, sqlite_readonly=True) is False
    # The pooled connection that served the read-only transaction begins IMMEDIATE again.
    assert _holds_write_lock(engine) is True
    engine.dispose()


def test_concurrent_first_writes_for_one_owner_share_one_data_key(sql_engine, keyring):
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            with sql_engine.connect() as conn:
                barrier.wait()
                SqlTokenStore(conn, keyring).put(OWNER, f"purpose_{i}", f"value {i}".encode())
                conn.commit()
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sql_engine.connect() as conn:
        store = SqlTokenStore(conn, keyring)
        assert [store.get(OWNER, f"purpose_{i}") for i in range(6)] == [
            f"value {i}".encode() for i in range(6)
        ]


def test_the_store_never_commits_the_callers_transaction(sql_engine, keyring):
    with sql_engine.connect() as conn:
        store = SqlTokenStore(conn, keyring)
        store.put(OWNER, "refresh_token", b"r")
        store.index_refresh_token(OWNER, "1//0gtoken-material-xyz")
        conn.rollback()
    with sql_engine.connect() as conn:
        store = SqlTokenStore(conn, keyring)
        assert store.get(OWNER, "refresh_token") is None
        assert store.key_ids_in_use() == set()


def test_a_purge_rolled_back_with_the_callers_work_leaves_the_tokens(sql_engine, keyring):
    with sql_engine.begin() as conn:
        SqlTokenStore(conn, keyring).put(OWNER, "refresh_token", b"r")
    with sql_engine.connect() as conn:
        assert SqlTokenStore(conn, keyring).purge(OWNER) == 2
        conn.rollback()  # e.g. the caller's status change failed
    with sql_engine.connect() as conn:
        assert SqlTokenStore(conn, keyring).get(OWNER, "refresh_token") == b"r"


def test_checkpoint_cannot_finish_while_a_transaction_is_open(tmp_path, keyring):
    # Why callers must checkpoint after commit and before beginning their next transaction.
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    metadata.create_all(engine)
    with engine.connect() as conn:
        SqlTokenStore(conn, keyring).put(OWNER, "refresh_token", b"r")
        conn.commit()
        conn.begin()
        assert checkpoint(engine, attempts=1, busy_ms=50) is False
        conn.rollback()
        assert checkpoint(engine) is True
    engine.dispose()


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
def test_checkpoint_on_an_in_memory_database_is_harmless(url):
    engine = make_engine(url)
    assert checkpoint(engine) is True
