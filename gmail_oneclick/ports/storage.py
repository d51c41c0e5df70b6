"""Storage as the services use it: a unit of work and its repositories.

A unit of work is one transaction: ``with uow_factory() as uow: ...; uow.commit()``. Leaving the
``with`` block without ``commit()`` rolls everything back, so a failure never leaves half a
write. Each repository lists exactly the methods services call; the SQL implementation is
gmail_oneclick/adapters/storage. Secrets never sit in a repository: they go to ``uow.tokens``
(encrypted by token_store), keyed by owner (``connection:<id>``, ``site:<id>``,
``state:<hash>``) and purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from gmail_oneclick.domain.events import Event
from gmail_oneclick.domain.model import Connection, Site
from gmail_oneclick.domain.records import ConnectLink, IdempotencyRecord, OAuthState, OutboxEvent


class SecretStore(Protocol):
    """Encrypted secrets by (owner, purpose), in the unit of work's transaction."""

    def put(self, owner: str, purpose: str, plaintext: bytes) -> None: ...

    def get(self, owner: str, purpose: str) -> bytes | None: ...

    def purge(self, owner: str) -> int:
        """Hard-delete every secret of ``owner``. Returns how many went."""
        ...

    def index_refresh_token(self, owner: str, token: str) -> None:
        """Remember the token's hash and prefix MAC, so a RISC event naming it finds ``owner``."""
        ...

    def owners_by_token_hash(self, hash_b64: str) -> list[str]: ...

    def owners_by_token_prefix(self, prefix: str) -> list[str]: ...


class SiteRepository(Protocol):
    def add(self, site: Site, api_key_hash: str,
            verification_token_hash: str | None = None) -> None: ...

    def get(self, site_id: str) -> Site | None: ...

    def by_api_key_hash(self, key_hash: str) -> tuple[Site, str] | None:
        """The site and its stored hash, so the caller can compare in constant time."""
        ...

    def verification_token_hash(self, site_id: str) -> str | None: ...

    def mark_verified(self, site_id: str, at: datetime) -> bool:
        """Verify a pending site once; False when it is gone or already verified."""
        ...

    def set_api_key_hash(self, site_id: str, key_hash: str, at: datetime) -> bool: ...

    def remove(self, site_id: str) -> bool: ...


class ConnectionRepository(Protocol):
    def add(self, c: Connection) -> None: ...

    def get(self, connection_id: str, *, for_update: bool = False) -> Connection | None: ...

    def get_for_site(self, site_id: str, connection_id: str) -> Connection | None: ...

    def list_for_site(self, site_id: str) -> list[Connection]:
        """Oldest first, whatever their status."""
        ...

    def find_by_site_and_sub(self, site_id: str, sub: str) -> Connection | None: ...

    def list_by_sub(self, sub: str) -> list[Connection]: ...

    def list_by_subs(self, subs: list[str]) -> list[Connection]: ...

    def list_by_email(self, email: str) -> list[Connection]:
        """Case-insensitive on the email."""
        ...

    def count_live_sharing_grant(self, sub: str, *, excluding: str) -> int:
        """Other connected connections of the same Google account (they share one grant)."""
        ...

    def update(self, connection_id: str, **values: Any) -> bool:
        """Set fields of one connection (``scopes`` may be a set, ``status`` a Status)."""
        ...

    def mark_reconnect_required(self, connection_id: str, reason: str, at: datetime) -> bool:
        """A purge's status change, only from connected: False when it was not connected."""
        ...

    def schedule_check(self, connection_id: str, at: datetime) -> bool:
        """When the checker next verifies it (only while connected)."""
        ...

    def next_check_at(self, now: datetime) -> datetime | None:
        """When the checker next has a connected connection to verify (``now`` when one is
        unscheduled); None when none is connected."""
        ...

    def renew_claims(self, connection_ids: list[str], held_until: datetime,
                     until: datetime) -> int:
        """Move the checker's claims still at ``held_until`` to ``until``. Returns how many."""
        ...

    def lock_connected(self, connection_ids: list[str]) -> set[str]:
        """Which of these are connected, their rows locked until commit (PostgreSQL), so no
        purge lands between this read and the caller's writes."""
        ...

    def record_checks(self, checks: list[dict[str, Any]]) -> None:
        """Set each ``checks`` entry's columns (``id`` names the row) while it is connected: a
        sweep's verification results, in one statement."""
        ...

    def delete(self, connection_id: str) -> bool: ...

    def forget(self, connection_ids: list[str], email: str) -> int:
        """Privacy forget: delete these connections, empty their audit events' data, and drop
        the connect links naming ``email``. Returns how many connections went."""
        ...


class ConsentRepository(Protocol):
    def add_link(
        self, *, token_hash: str, site_id: str, return_url: str, login_hint: str | None,
        created_at: datetime, expires_at: datetime,
    ) -> None: ...

    def get_link(self, token_hash: str) -> ConnectLink | None: ...

    def use_link(self, token_hash: str, at: datetime) -> bool:
        """Mark the link used; False when it was used already (a concurrent submit won)."""
        ...

    def delete_links_expired_before(self, at: datetime) -> int: ...

    def add_state(
        self, *, state_hash: str, link_hash: str, site_id: str, return_url: str,
        browser_hash: str, created_at: datetime, expires_at: datetime,
    ) -> None: ...

    def get_state(self, state_hash: str) -> OAuthState | None: ...

    def use_state(self, state_hash: str, at: datetime) -> bool:
        """Mark the state used; False when it was used already (a concurrent callback won)."""
        ...

    def states_expired_before(self, at: datetime, limit: int = 200) -> list[str]: ...

    def state_hashes_for_site(self, site_id: str) -> list[str]: ...

    def delete_states(self, state_hashes: list[str]) -> int: ...


class AuditRepository(Protocol):
    def record(self, type_: str, at: datetime, *, site_id: str | None = None,
               connection_id: str | None = None, **data: Any) -> None:
        """An audit event tagged ``type_``; ``data`` keys outside a fixed list are dropped."""
        ...

    def for_connection(self, connection_id: str) -> list[dict[str, Any]]:
        """The connection's events as ``{"at", "type", "data"}``, oldest first."""
        ...

    def prune_before(self, cutoff: datetime, *, limit: int) -> int: ...


class OutboxRepository(Protocol):
    def add(self, *, event_id: str, site_id: str, type_: str, payload: dict[str, Any],
            at: datetime, connection_id: str | None = None) -> None:
        """Queue an event; it is handed to the dispatcher once the unit of work commits."""
        ...

    def claim_due(self, now: datetime, *, limit: int, lease_owner: str,
                  lease_until: datetime) -> list[OutboxEvent]:
        """Lease up to ``limit`` due events, oldest first. The caller commits at once."""
        ...

    def claim(self, event_id: str, now: datetime, *, lease_owner: str,
              lease_until: datetime) -> OutboxEvent | None:
        """Lease this event if still due; None when delivered, failed, backing off or leased."""
        ...

    def mark_delivered(self, event_id: str, lease_owner: str, *, at: datetime,
                       attempts: int, status: int) -> bool: ...

    def mark_retry(self, event_id: str, lease_owner: str, *, next_at: datetime,
                   attempts: int, status: int) -> bool: ...

    def mark_failed(self, event_id: str, lease_owner: str, *, at: datetime,
                    attempts: int, status: int) -> bool: ...

    def scrub_email(self, connection_ids: list[str]) -> int:
        """Blank the email in these connections' queued or past events (privacy forget)."""
        ...

    def prune_finished_before(self, cutoff: datetime, *, limit: int) -> int: ...


class IdempotencyRepository(Protocol):
    def claim(self, site_id: str, key_hash: str, request_hash: str, now: datetime,
              expired_before: datetime, lease_until: datetime) -> IdempotencyRecord | None:
        """Insert a pending record and return None, or return the live record already there
        (one created before ``expired_before`` is deleted first)."""
        ...

    def complete(self, site_id: str, key_hash: str, *, connection_id: str, gmail_id: str,
                 thread_id: str) -> None: ...

    def mark_unknown(self, site_id: str, key_hash: str, *, connection_id: str) -> None: ...

    def release(self, site_id: str, key_hash: str) -> None:
        """Forget a pending key whose send failed, so a retry with it may send."""
        ...

    def delete_expired(self, before: datetime, *, limit: int) -> int: ...


class RiscRepository(Protocol):
    def remember(self, jti: str, event_types: list[str], at: datetime) -> bool:
        """Record ``jti``; False when it was recorded already (a replay)."""
        ...


class LeaseRepository(Protocol):
    """The refresh lease on a connection: at most one holder refreshes it at a time."""

    def acquire(self, connection_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take (or extend) a connected connection's lease; False when another holds it."""
        ...

    def renew(self, connection_id: str, owner: str, until: datetime) -> bool:
        """Move our lease's end; False when it is not ours any more."""
        ...

    def release(self, connection_id: str, owner: str) -> None: ...

    def acquire_many(self, connection_ids: list[str], owner: str, now: datetime,
                     until: datetime) -> list[str]:
        """``acquire`` for several at once, in one statement: the ids this owner now holds."""
        ...

    def renew_many(self, connection_ids: list[str], owner: str, until: datetime) -> int:
        """``renew`` those still ours; returns how many."""
        ...

    def release_many(self, connection_ids: list[str], owner: str) -> None: ...

    def holder(self, connection_id: str) -> tuple[str | None, datetime | None]:
        """(owner, until) of the current lease."""
        ...


class RateLimitRepository(Protocol):
    def hit(self, bucket: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """Count one event in ``bucket``'s current window. Returns (count, window end)."""
        ...


class UnitOfWork(Protocol):
    """One transaction and the repositories sharing it; rolls back unless committed."""

    def __enter__(self) -> Self: ...

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def commit(self) -> None: ...

    def mark_purged(self) -> None:
        """Called by whoever hard-deletes secrets, so commit() also erases them from the
        storage's journal (SQLite's WAL)."""
        ...

    def record(self, event: Event) -> None:
        """Keep a domain event for services.handlers; commit() refuses while one is unhandled."""
        ...

    def collect_events(self) -> list[Event]:
        """The recorded events, in order; the unit of work forgets them."""
        ...

    @property
    def tokens(self) -> SecretStore: ...

    @property
    def sites(self) -> SiteRepository: ...

    @property
    def connections(self) -> ConnectionRepository: ...

    @property
    def consent(self) -> ConsentRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def risc(self) -> RiscRepository: ...

    @property
    def leases(self) -> LeaseRepository: ...

    @property
    def rate_limits(self) -> RateLimitRepository: ...


UowFactory = Callable[[], UnitOfWork]
"""Makes a new unit of work: what services take when they open their own transactions."""
