"""The rows of the in-memory database, and the database itself: committed rows and a write lock.

Rows are plain dicts named like the SQL columns (adapters/storage/tables.py), so each
repository reads like its SQL twin. A transaction works on a ``Tables.copy()`` and publishes it
on commit; nothing it did is seen by anyone before that.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from token_store import Keyring, MemoryTokenStore

Row = dict[str, Any]


class IntegrityError(Exception):
    """A unique or foreign key constraint would break (the SQL database raises its own)."""


class DatabaseLocked(Exception):
    """Another unit of work holds the write lock for longer than ``lock_timeout`` (SQLite's
    "database is locked" after its busy timeout): usually a unit of work opened inside another."""


@dataclass
class Tables:
    """Every table's rows, keyed by primary key, and the token store's rows."""

    tokens: MemoryTokenStore
    sites: dict[str, Row] = field(default_factory=dict)
    connections: dict[str, Row] = field(default_factory=dict)
    connect_links: dict[str, Row] = field(default_factory=dict)
    oauth_states: dict[str, Row] = field(default_factory=dict)
    audit_events: list[Row] = field(default_factory=list)
    webhook_outbox: dict[str, Row] = field(default_factory=dict)
    idempotency_keys: dict[tuple[str, str], Row] = field(default_factory=dict)
    risc_events: dict[str, Row] = field(default_factory=dict)
    rate_limits: dict[str, Row] = field(default_factory=dict)
    next_audit_id: int = 1

    def copy(self) -> Tables:
        """A deep copy: a transaction may change any row without touching the committed ones."""
        return Tables(
            tokens=self.tokens.copy(),
            sites=copy.deepcopy(self.sites),
            connections=copy.deepcopy(self.connections),
            connect_links=copy.deepcopy(self.connect_links),
            oauth_states=copy.deepcopy(self.oauth_states),
            audit_events=copy.deepcopy(self.audit_events),
            webhook_outbox=copy.deepcopy(self.webhook_outbox),
            idempotency_keys=copy.deepcopy(self.idempotency_keys),
            risc_events=copy.deepcopy(self.risc_events),
            rate_limits=copy.deepcopy(self.rate_limits),
            next_audit_id=self.next_audit_id,
        )

    def remove_site(self, site_id: str) -> None:
        """The SQL schema's ON DELETE CASCADE from ``sites``."""
        for name in ("connections", "connect_links", "oauth_states", "webhook_outbox",
                     "idempotency_keys"):
            table: dict[Any, Row] = getattr(self, name)
            for key in [k for k, row in table.items() if row["site_id"] == site_id]:
                del table[key]
        del self.sites[site_id]


class MemoryDatabase:
    """What the SQL engine is to the SQL unit of work: the committed rows, shared by every
    unit of work made over it, and one write lock (SQLite's: every writing transaction takes
    it at its first statement and holds it until it ends)."""

    def __init__(self, keyring: Keyring, *, lock_timeout: float = 5.0) -> None:
        self.keyring = keyring
        self.committed = Tables(tokens=MemoryTokenStore(keyring))
        self.lock_timeout = lock_timeout
        self._write_lock = threading.Lock()
        self._publish_lock = threading.Lock()

    def begin(self, *, readonly: bool) -> Tables:
        """A working copy of the committed rows; a writer holds the write lock until ``end``."""
        if not readonly and not self._write_lock.acquire(timeout=self.lock_timeout):
            raise DatabaseLocked("database is locked")
        with self._publish_lock:
            return self.committed.copy()

    def publish(self, tables: Tables) -> None:
        with self._publish_lock:
            self.committed = tables

    def end(self, *, readonly: bool) -> None:
        if not readonly:
            self._write_lock.release()
