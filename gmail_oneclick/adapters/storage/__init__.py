"""SQL persistence: a unit of work over one transaction, with one repository per concern.

This is the SQL implementation of ports.UnitOfWork; services see only that Protocol.
A unit of work rolls back unless ``commit()`` is called, so a failure never leaves half a write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from gmail_oneclick.adapters.uow_parts import RecordsEvents
from gmail_oneclick.domain.events import Event
from token_store import Keyring, SqlTokenStore, checkpoint

from .audit import AuditRepository
from .connections import ConnectionRepository
from .consent import ConsentRepository
from .idempotency import IdempotencyRepository
from .leases import LeaseRepository
from .outbox import OutboxRepository
from .rate_limits import RateLimitRepository
from .risc import RiscRepository
from .sites import SiteRepository

_REPOSITORIES = ("sites", "connections", "consent", "audit", "outbox", "idempotency", "risc",
                 "tokens", "leases", "rate_limits")


class UnitOfWork(RecordsEvents):
    """One database transaction and the repositories that share it."""

    def __init__(self, engine: Engine, keyring: Keyring, *, readonly: bool = False,
                 on_commit: Callable[[Sequence[str]], None] | None = None) -> None:
        self.engine = engine
        self.keyring = keyring
        self.readonly = readonly
        self.on_commit = on_commit
        self._conn: Connection | None = None
        self._purged = False
        self._events: list[Event] = []

    def __enter__(self) -> Self:
        # The transaction begins with the first statement (SQLAlchemy's autobegin) and ends at
        # commit(), so a unit of work holds no lock while its caller waits on the network.
        conn = self.engine.connect()
        if self.readonly:
            conn = conn.execution_options(sqlite_readonly=True)
        self._conn = conn
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None
            self._events.clear()  # rolled back with the writes they announce
            for name in _REPOSITORIES:
                self.__dict__.pop(name, None)

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("UnitOfWork used outside its 'with' block")
        return self._conn

    def commit(self) -> None:
        """Commit; after a purge also checkpoint SQLite's WAL so no deleted secret stays there.

        Raises RuntimeError, committing nothing, while recorded events are unhandled: their
        purge and notification belong in this transaction (services.handlers.commit).
        """
        self._refuse_unhandled_events()
        self.conn.commit()
        if self._purged:
            self._purged = False
            # A WAL checkpoint cannot finish while any transaction is open; ours has just
            # ended and the next one only begins with the next statement.
            checkpoint(self.engine)
        self._hand_over_queued_webhooks()

    def mark_purged(self) -> None:
        """Called by whoever hard-deletes secrets, so commit() checkpoints the WAL."""
        self._purged = True

    @cached_property
    def tokens(self) -> SqlTokenStore:
        return SqlTokenStore(self.conn, self.keyring)

    @cached_property
    def sites(self) -> SiteRepository:
        return SiteRepository(self.conn)

    @cached_property
    def connections(self) -> ConnectionRepository:
        return ConnectionRepository(self.conn)

    @cached_property
    def consent(self) -> ConsentRepository:
        return ConsentRepository(self.conn)

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.conn)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.conn)

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        return IdempotencyRepository(self.conn)

    @cached_property
    def leases(self) -> LeaseRepository:
        return LeaseRepository(self.conn)

    @cached_property
    def rate_limits(self) -> RateLimitRepository:
        return RateLimitRepository(self.conn)

    @cached_property
    def risc(self) -> RiscRepository:
        return RiscRepository(self.conn)

