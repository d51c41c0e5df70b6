"""In-memory persistence: a unit of work with the SQL one's repositories, methods and answers.

For service specifications (tests/unit/services) that run in microseconds. Like the SQL unit
of work it rolls back unless ``commit()`` is called: a transaction works on a copy of the
committed rows (tokens included, through token_store's MemoryTokenStore) and publishes it on
commit. A writing transaction holds the database's write lock from its first statement to its
end, as on SQLite, so the compare-and-set claims and leases mean the same thing here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Self

from gmail_oneclick.adapters.uow_parts import RecordsEvents
from gmail_oneclick.domain.events import Event
from token_store import MemoryTokenStore

from .connections import ConnectionRepository, LeaseRepository
from .consent import ConsentRepository
from .outbox import OutboxRepository
from .records import (
    AuditRepository,
    IdempotencyRepository,
    RateLimitRepository,
    RiscRepository,
    SiteRepository,
)
from .state import DatabaseLocked, IntegrityError, MemoryDatabase, Tables

__all__ = ["DatabaseLocked", "IntegrityError", "MemoryDatabase", "UnitOfWork"]

_REPOSITORIES = ("sites", "connections", "consent", "audit", "outbox", "idempotency", "risc",
                 "leases", "rate_limits")


class UnitOfWork(RecordsEvents):
    """One transaction over a MemoryDatabase and the repositories that share it."""

    def __init__(self, database: MemoryDatabase, *, readonly: bool = False,
                 on_commit: Callable[[Sequence[str]], None] | None = None) -> None:
        self.database = database
        self.readonly = readonly
        self.on_commit = on_commit
        self.purged = False  # a secret was hard-deleted (the SQL one checkpoints its WAL)
        self._entered = False
        self._working: Tables | None = None
        self._events: list[Event] = []

    def __enter__(self) -> Self:
        self._entered = True
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._end()
        self._entered = False
        self._events.clear()  # rolled back with the writes they announce
        for name in _REPOSITORIES:
            self.__dict__.pop(name, None)

    def _tables(self) -> Tables:
        """The transaction's rows; the first statement after ``with`` or commit begins it."""
        if not self._entered:
            raise RuntimeError("UnitOfWork used outside its 'with' block")
        if self._working is None:
            self._working = self.database.begin(readonly=self.readonly)
        return self._working

    def _end(self) -> None:
        if self._working is not None:
            self._working = None
            self.database.end(readonly=self.readonly)

    def commit(self) -> None:
        """Publish this transaction's rows (a read-only one has nothing to publish).

        Raises RuntimeError, publishing nothing, while recorded events are unhandled (as the
        SQL one: their purge and notification belong in this transaction).
        """
        self._refuse_unhandled_events()
        working = self._tables()
        if not self.readonly:
            self.database.publish(working)
        self._end()
        self._hand_over_queued_webhooks()

    def mark_purged(self) -> None:
        """Called by whoever hard-deletes secrets (the SQL one then checkpoints its WAL)."""
        self.purged = True

    @property
    def tokens(self) -> MemoryTokenStore:
        # A property, not cached: after a commit the next transaction has its own copy.
        return self._tables().tokens

    @cached_property
    def sites(self) -> SiteRepository:
        return SiteRepository(self._tables)

    @cached_property
    def connections(self) -> ConnectionRepository:
        return ConnectionRepository(self._tables)

    @cached_property
    def consent(self) -> ConsentRepository:
        return ConsentRepository(self._tables)

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self._tables)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self._tables)

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        return IdempotencyRepository(self._tables)

    @cached_property
    def leases(self) -> LeaseRepository:
        return LeaseRepository(self._tables)

    @cached_property
    def rate_limits(self) -> RateLimitRepository:
        return RateLimitRepository(self._tables)

    @cached_property
    def risc(self) -> RiscRepository:
        return RiscRepository(self._tables)


if TYPE_CHECKING:  # mypy keeps this unit of work a ports.UnitOfWork, as the SQL one is
    from gmail_oneclick import ports

    def _is_a_unit_of_work(uow: UnitOfWork) -> ports.UnitOfWork:
        return uow
