"""What only the in-memory unit of work needs saying (the rest is the contract test's, run on
both): writers take turns, as on SQLite, so no commit silently overwrites another's rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gmail_oneclick.adapters.memory import DatabaseLocked, MemoryDatabase, UnitOfWork
from token_store import Keyring, generate_key_entry

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def database() -> MemoryDatabase:
    return MemoryDatabase(Keyring.parse(generate_key_entry("k1")), lock_timeout=0.05)


def test_a_writer_opened_inside_another_fails_loudly(database: MemoryDatabase) -> None:
    with UnitOfWork(database) as outer:
        outer.risc.remember("a", [], NOW)
        with UnitOfWork(database) as inner, pytest.raises(DatabaseLocked):
            inner.risc.remember("b", [], NOW)


def test_a_reader_does_not_wait_for_a_writer_and_sees_only_committed_rows(
    database: MemoryDatabase,
) -> None:
    with UnitOfWork(database) as writer:
        writer.risc.remember("a", [], NOW)
        with UnitOfWork(database, readonly=True) as reader:
            assert reader.risc.remember("a", [], NOW)  # "a" is not committed yet

