"""Key rotation on SQLite and PostgreSQL: re-wrap DEKs, re-MAC prefixes, resumable."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from token_store import (
    KeyringError,
    RotationResult,
    SqlTokenStore,
    envelope,
    refresh_token_hash,
    rotate_keys,
)
from token_store.sql import data_keys, secrets_table, token_ids

OWNERS = [f"connection:conn_{i:02d}" for i in range(5)]


def token_of(owner: str) -> str:
    # Distinct within the first 16 characters, as real tokens are.
    return f"1//0{owner[-2:]}gRefresh-{owner}-token-material"


def seed(engine, keyring, owners=OWNERS):
    with engine.begin() as conn:
        store = SqlTokenStore(conn, keyring)
        for owner in owners:
            store.put(owner, "refresh_token", token_of(owner).encode())
            store.put(owner, "access_token", f"ya29.{owner}".encode())
            store.index_refresh_token(owner, token_of(owner))


def assert_all_readable(engine, keyring, owners=OWNERS):
    with engine.connect() as conn:
        store = SqlTokenStore(conn, keyring)
        for owner in owners:
            token = token_of(owner)
            assert store.get(owner, "refresh_token") == token.encode()
            assert store.get(owner, "access_token") == f"ya29.{owner}".encode()
            assert store.owners_by_token_hash(refresh_token_hash(token)) == [owner]
            assert store.owners_by_token_prefix(token[:16]) == [owner]


def kek_ids_by_owner(engine):
    with engine.connect() as conn:
        deks = dict(conn.execute(select(data_keys.c.owner, data_keys.c.kek_id)).all())
        macs = dict(conn.execute(select(token_ids.c.owner, token_ids.c.mac_kek_id)).all())
    return deks, macs


def raw_rows(engine):
    with engine.connect() as conn:
        queries = (
            select(data_keys.c.owner, data_keys.c.wrapped_key),
            select(secrets_table.c.owner, secrets_table.c.purpose, secrets_table.c.ciphertext),
            select(token_ids),
        )
        return tuple(sorted(map(tuple, conn.execute(query))) for query in queries)


def test_rotation_moves_everything_to_the_new_primary_so_the_old_key_can_go(
    sql_engine, keyring, rotated_keyring, k2_only
):
    seed(sql_engine, keyring)
    result = rotate_keys(sql_engine, rotated_keyring)
    assert result == RotationResult(rewrapped=5, already_current=0)
    deks, macs = kek_ids_by_owner(sql_engine)
    assert set(deks.values()) == {"k2"} and set(macs.values()) == {"k2"}
    with sql_engine.connect() as conn:
        assert SqlTokenStore(conn, k2_only).key_ids_in_use() == {"k2"}
    assert_all_readable(sql_engine, k2_only)


def test_rotation_rewraps_keys_without_reencrypting_secrets(sql_engine, keyring, rotated_keyring):
    seed(sql_engine, keyring)
    wrapped_before, secrets_before, _ = raw_rows(sql_engine)
    rotate_keys(sql_engine, rotated_keyring)
    wrapped_after, secrets_after, _ = raw_rows(sql_engine)
    assert secrets_after == secrets_before
    assert all(a != b for a, b in zip(wrapped_after, wrapped_before, strict=True))


def test_rerunning_a_finished_rotation_changes_nothing(sql_engine, keyring, rotated_keyring):
    seed(sql_engine, keyring)
    rotate_keys(sql_engine, rotated_keyring)
    before = raw_rows(sql_engine)
    assert rotate_keys(sql_engine, rotated_keyring) == RotationResult(0, 5)
    assert raw_rows(sql_engine) == before


def test_an_interrupted_rotation_stays_readable_and_a_rerun_finishes_it(
    sql_engine, keyring, rotated_keyring, k2_only
):
    seed(sql_engine, keyring)
    progress: list[RotationResult] = []

    def crash_after_first_batch(result: RotationResult) -> None:
        progress.append(result)
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        rotate_keys(sql_engine, rotated_keyring, batch_size=2, on_batch=crash_after_first_batch)
    assert progress == [RotationResult(rewrapped=2, already_current=0)]
    deks, macs = kek_ids_by_owner(sql_engine)
    assert sorted(deks.values()) == ["k1", "k1", "k1", "k2", "k2"]
    # Each owner moved whole: its prefix MAC went in the same batch as its data key.
    assert macs == deks
    assert_all_readable(sql_engine, rotated_keyring)

    assert rotate_keys(sql_engine, rotated_keyring, batch_size=2) == RotationResult(3, 2)
    assert_all_readable(sql_engine, k2_only)


def test_an_exception_inside_a_batch_rolls_that_batch_back(
    sql_engine, keyring, rotated_keyring, monkeypatch
):
    seed(sql_engine, keyring)
    from token_store import envelope

    real_wrap = envelope.DataKeyRewrapper.wrap
    calls = {"n": 0}

    def failing_wrap(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # second row of the second batch
            raise RuntimeError("crash mid-batch")
        return real_wrap(*args, **kwargs)

    monkeypatch.setattr(envelope.DataKeyRewrapper, "wrap", failing_wrap)
    with pytest.raises(RuntimeError, match="crash mid-batch"):
        rotate_keys(sql_engine, rotated_keyring, batch_size=2)
    monkeypatch.setattr(envelope.DataKeyRewrapper, "wrap", real_wrap)
    deks, macs = kek_ids_by_owner(sql_engine)
    assert sorted(deks.values()) == ["k1", "k1", "k1", "k2", "k2"]
    assert macs == deks  # the second batch's MACs rolled back with its keys
    assert_all_readable(sql_engine, rotated_keyring)
    assert rotate_keys(sql_engine, rotated_keyring, batch_size=2) == RotationResult(3, 2)


def test_rotation_refuses_to_start_when_stored_data_needs_a_missing_key(
    sql_engine, keyring, k2_only
):
    seed(sql_engine, keyring)
    before = raw_rows(sql_engine)
    with pytest.raises(KeyringError, match="key id 'k1' is used by stored data but missing"):
        rotate_keys(sql_engine, k2_only)
    assert raw_rows(sql_engine) == before


def test_data_keys_made_after_the_new_primary_count_as_current(
    sql_engine, keyring, rotated_keyring, k2_only
):
    seed(sql_engine, keyring, OWNERS[:3])
    seed(sql_engine, rotated_keyring, OWNERS[3:])
    assert rotate_keys(sql_engine, rotated_keyring, batch_size=1) == RotationResult(3, 2)
    assert_all_readable(sql_engine, k2_only)


def test_rotation_with_an_empty_database_does_nothing(sql_engine, rotated_keyring):
    assert rotate_keys(sql_engine, rotated_keyring) == RotationResult(0, 0)


def test_batch_size_must_be_positive(sql_engine, rotated_keyring):
    with pytest.raises(ValueError, match="batch_size"):
        rotate_keys(sql_engine, rotated_keyring, batch_size=0)


def test_progress_counts_keys_and_prefix_macs_up_to_the_total(sql_engine, keyring,
                                                               rotated_keyring):
    seed(sql_engine, keyring)
    seen = []
    rotate_keys(sql_engine, rotated_keyring, batch_size=2,
                on_progress=lambda done, total: seen.append((done, total)))
    # 5 DEKs and 5 prefix MACs: two owners (a DEK and a MAC each) per batch.
    assert seen == [(4, 10), (8, 10), (10, 10)]
    seen.clear()
    rotate_keys(sql_engine, rotated_keyring, on_progress=lambda *p: seen.append(p))
    assert seen == []  # nothing left to do: no batch, no progress


def test_a_data_key_rewritten_during_a_batch_is_not_overwritten(
    sql_engine, keyring, rotated_keyring
):
    # A writer that replaced a data key between the batch's SELECT and its UPDATE (a purge
    # and reconnect, say) keeps its key: the batch's one UPDATE is guarded on the old kek_id.
    seed(sql_engine, keyring)
    with sql_engine.connect() as conn:
        old = conn.execute(select(data_keys.c.wrapped_key)
                           .where(data_keys.c.owner == OWNERS[-1])).scalar_one()
    dek = envelope.unwrap_data_key(keyring, OWNERS[-1], "k1", bytes(old))
    _, fresh = envelope.wrap_data_key(rotated_keyring, OWNERS[-1], dek)
    state = {"done": False}

    def rewrite_before_update(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE TS_DATA_KEYS") and not state["done"]:
            state["done"] = True
            conn.execute(data_keys.update().where(data_keys.c.owner == OWNERS[-1])
                         .values(kek_id="k2", wrapped_key=fresh))

    event.listen(sql_engine, "before_cursor_execute", rewrite_before_update)
    try:
        result = rotate_keys(sql_engine, rotated_keyring, batch_size=len(OWNERS))
    finally:
        event.remove(sql_engine, "before_cursor_execute", rewrite_before_update)
    assert result == RotationResult(rewrapped=len(OWNERS) - 1, already_current=0)
    with sql_engine.connect() as conn:
        stored = conn.execute(select(data_keys.c.wrapped_key)
                              .where(data_keys.c.owner == OWNERS[-1])).scalar_one()
    assert bytes(stored) == fresh


def test_each_batch_writes_its_rows_in_one_statement(sql_engine, keyring, rotated_keyring):
    # Issue 14: one UPDATE per batch (an executemany), not one per row, is what makes
    # rotating 100,000 connections take seconds rather than minutes.
    seed(sql_engine, keyring)
    updates: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement.split()[1].strip('"'))

    event.listen(sql_engine, "before_cursor_execute", count)
    try:
        rotate_keys(sql_engine, rotated_keyring, batch_size=2)
    finally:
        event.remove(sql_engine, "before_cursor_execute", count)
    assert sorted(updates) == ["ts_data_keys"] * 3 + ["ts_token_ids"] * 3


def test_a_prefix_mac_left_under_the_old_key_is_remade_though_its_data_key_is_current(
    sql_engine, keyring, rotated_keyring, k2_only
):
    # A data key re-wrapped before its owner's MAC (a rotation from an older release stopped
    # between its two passes): the key is current, the MAC still needs the old key.
    seed(sql_engine, keyring)
    owner = OWNERS[2]
    with sql_engine.begin() as conn:
        old = conn.execute(select(data_keys.c.wrapped_key)
                           .where(data_keys.c.owner == owner)).scalar_one()
        dek = envelope.unwrap_data_key(keyring, owner, "k1", bytes(old))
        _, fresh = envelope.wrap_data_key(rotated_keyring, owner, dek)
        conn.execute(data_keys.update().where(data_keys.c.owner == owner)
                     .values(kek_id="k2", wrapped_key=fresh))
    assert rotate_keys(sql_engine, rotated_keyring, batch_size=2) == RotationResult(4, 1)
    deks, macs = kek_ids_by_owner(sql_engine)
    assert set(deks.values()) == set(macs.values()) == {"k2"}
    assert_all_readable(sql_engine, k2_only)


def test_each_batch_reads_its_owners_in_one_select(sql_engine, keyring, rotated_keyring):
    # Issue 14: a DEK and its owner's prefix MAC are read together, so one SELECT per batch of
    # owners (plus one finding nothing left, and one for MACs whose DEK was current).
    seed(sql_engine, keyring)
    selects: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "ts_data_keys" in statement:
            selects.append(statement)

    event.listen(sql_engine, "before_cursor_execute", count)
    try:
        rotate_keys(sql_engine, rotated_keyring, batch_size=2)
    finally:
        event.remove(sql_engine, "before_cursor_execute", count)
    # The survey's (count, key ids in use) + 3 batches + 1 empty + the leftover MAC pass.
    assert len(selects) == 2 + 3 + 1 + 1


def test_on_sqlite_rotation_checkpoints_less_often_and_leaves_the_connection_as_it_was(
    sqlite_engine, keyring, rotated_keyring
):
    # Issue 14: a checkpoint after nearly every batch copied the same index pages into the
    # database file batch after batch. The rotation's connection checkpoints per 4,000 WAL
    # pages while it writes, then goes back to the pool with SQLite's defaults.
    seed(sqlite_engine, keyring)

    def settings(dbapi):
        return tuple(dbapi.execute(f"PRAGMA {name}").fetchone()[0]
                     for name in ("wal_autocheckpoint", "cache_size"))

    with sqlite_engine.connect() as conn:
        defaults = settings(conn.connection.driver_connection)
    during: list[tuple[int, int]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE"):
            during.append(settings(conn.connection.driver_connection))

    event.listen(sqlite_engine, "before_cursor_execute", record)
    try:
        rotate_keys(sqlite_engine, rotated_keyring, batch_size=2)
    finally:
        event.remove(sqlite_engine, "before_cursor_execute", record)
    assert during and set(during) == {(4000, -65536)}
    with sqlite_engine.connect() as conn:
        assert settings(conn.connection.driver_connection) == defaults == (1000, -2000)
