"""Access tokens of connections: cached encrypted in token_store, refreshed once, shared.

``access_token(...)`` returns a usable access token for a send. The cached one (token_store
owner ``connection:<id>``, purpose ``access_token``; expiry in ``connections.access_token_
expires_at``) is used until REFRESH_MARGIN before it expires. Refreshing takes the row lease
(``uow.leases``: a compare-and-set on ``lease_owner``/``lease_until`` in a short transaction),
re-reads the token after winning it, calls Google outside any transaction, and persists the new
token at once. Whoever loses the lease waits for the winner's token, so concurrent sends on one
connection, in any thread or process sharing the database, cause one refresh.

The lease is short (LEASE_SECONDS) and renewed by the holder's heartbeat (services.heartbeat)
while it works, so a holder that crashed mid-refresh blocks others for LEASE_SECONDS at most.
A send waits at most WAIT_SECONDS for someone else's refresh, then answers 503
``upstream_unavailable`` with ``Retry-After`` = the rest of that lease: it never holds a worker
thread for as long as a refresh may take.

``refresh_connection(uow_factory, google, clock, connection_id, *, lease_owner)`` is the forced
refresh the periodic checker calls to verify a grant. It returns a RefreshOutcome; it never
waits for a lease held by someone else (``busy``: that holder is verifying it right now).

Either way, ``invalid_grant`` is reported as a ``ConnectionRevoked`` event (reason
``invalid_grant``, trigger ``refresh``) that services.handlers purges on before committing;
transient failures never purge.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gmail_oneclick.domain.errors import (
    NotFound,
    ReconnectRequired,
    ServiceError,
    UpstreamUnavailable,
)
from gmail_oneclick.domain.events import ConnectionRevoked
from gmail_oneclick.domain.model import (
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    Connection,
    RevocationReason,
    Status,
    connection_owner,
)
from gmail_oneclick.ports import (
    Clock,
    GoogleAccounts,
    InvalidGrant,
    TokenGrant,
    TransientUpstream,
    UnitOfWork,
    UowFactory,
    UpstreamMisconfigured,
)
from gmail_oneclick.services import handlers, heartbeat, telemetry

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(seconds=120)
# The refresh lease: renewed every heartbeat.RENEW_SECONDS while its holder works, so it needs
# to outlive only a few missed beats, not the slowest token call.
LEASE_SECONDS = 15
# The most a send waits for another request's (or process's) refresh before answering 503.
WAIT_SECONDS = 3.0
POLL_SECONDS = 0.05

@dataclass(frozen=True)
class RefreshOutcome:
    """``refreshed``, ``revoked`` (purged), ``transient``, ``misconfigured``, ``busy`` or
    ``not_connected``; ``retry_after`` in seconds for ``transient`` when Google said."""

    status: str
    retry_after: int | None = None

    @property
    def value(self) -> str:
        """The status, enum-style (the checker classifies outcomes by ``value``)."""
        return self.status


def new_lease_owner(kind: str = "send") -> str:
    return f"{kind}:{secrets.token_hex(8)}"


def cached_access_token(uow: UnitOfWork, clock: Clock, connection: Connection) -> str | None:
    """``connection``'s cached access token when it is connected and the token still fresh,
    read in the caller's unit of work (a send reads it with its choice of connection, in one
    transaction); None means ``access_token`` must be asked (it may refresh)."""
    if connection.status is not Status.CONNECTED:
        return None
    expires = connection.access_token_expires_at
    if expires is None or expires - REFRESH_MARGIN <= clock.now():
        return None
    value = uow.tokens.get(connection_owner(connection.id), ACCESS_TOKEN)
    return value.decode() if value else None


def _cached(uow: UnitOfWork, clock: Clock, connection_id: str) -> tuple[Status, str | None]:
    """The connection's status and its cached token when still fresh (None otherwise)."""
    connection = uow.connections.get(connection_id)
    if connection is None:
        raise NotFound("connection not found")
    return connection.status, cached_access_token(uow, clock, connection)


def _usable(token: str | None, rejected: str | None) -> bool:
    if token is None:
        return False
    return rejected is None or not hmac.compare_digest(token, rejected)


def access_token(
    uow_factory: UowFactory, google: GoogleAccounts, clock: Clock, connection_id: str, *,
    rejected: str | None = None, sleep: Callable[[float], None] = time.sleep,
    wait_seconds: float = WAIT_SECONDS,
) -> str:
    """A usable access token; ``rejected`` is one Gmail just refused (401), never returned again.

    Raises ReconnectRequired (purged now or before), NotFound, UpstreamUnavailable or
    RateLimited (Google's token endpoint failing; nothing purged).
    """
    owner = new_lease_owner()
    deadline = time.monotonic() + wait_seconds
    while True:
        with uow_factory() as uow:
            status, token = _cached(uow, clock, connection_id)
            if status is not Status.CONNECTED:
                raise ReconnectRequired(_RECONNECT)
            if _usable(token, rejected):
                assert token is not None
                return token
            now = clock.now()
            won = uow.leases.acquire(connection_id, owner, now,
                                     now + timedelta(seconds=LEASE_SECONDS))
            held_until = None if won else uow.leases.holder(connection_id)[1]
            uow.commit()
        if won:
            with heartbeat.keep_lease(uow_factory, clock, connection_id, owner, LEASE_SECONDS):
                try:
                    return _refresh_under_lease(uow_factory, google, clock, connection_id,
                                                owner, rejected)
                except (TransientUpstream, UpstreamMisconfigured) as exc:
                    raise _service_error(exc) from None
        if time.monotonic() >= deadline:
            raise UpstreamUnavailable(
                "another request is refreshing this connection's access token; try again "
                "shortly", retry_after=_lease_left(clock, held_until))
        sleep(POLL_SECONDS)


def _lease_left(clock: Clock, until: datetime | None) -> int:
    """Whole seconds until a lease held by someone else ends (at least 1): the longest a
    caller can have to wait, since a dead holder stops renewing it."""
    if until is None:
        return 1
    return max(1, math.ceil((until - clock.now()).total_seconds()))


_RECONNECT = ("the Google account's authorization is gone; the site admin must connect "
              "Gmail again")


def _refresh_under_lease(
    uow_factory: UowFactory, google: GoogleAccounts, clock: Clock, connection_id: str,
    owner: str, rejected: str | None,
) -> str:
    with uow_factory() as uow:
        # Re-read after winning: the previous holder may have refreshed just before releasing.
        status, token = _cached(uow, clock, connection_id)
        if status is Status.CONNECTED and _usable(token, rejected):
            uow.leases.release(connection_id, owner)
            uow.commit()
            assert token is not None
            return token
        refresh_token = uow.tokens.get(connection_owner(connection_id), REFRESH_TOKEN)
        if status is not Status.CONNECTED or refresh_token is None:
            uow.leases.release(connection_id, owner)
            uow.commit()
            raise ReconnectRequired(_RECONNECT)
    grant = _refresh_or_raise(uow_factory, google, clock, connection_id, owner, refresh_token)
    return grant.access_token


def _refresh_or_raise(
    uow_factory: UowFactory, google: GoogleAccounts, clock: Clock, connection_id: str,
    owner: str, refresh_token: bytes,
) -> TokenGrant:
    """Call Google (no transaction open), then persist or purge; the lease is released.

    Raises ReconnectRequired after a purge, or re-raises TransientUpstream and
    UpstreamMisconfigured untouched (nothing purged).
    """
    try:
        grant = google.refresh(refresh_token.decode())
    except InvalidGrant:
        telemetry.metrics().count_refresh("invalid_grant")
        _purge(uow_factory, clock, connection_id)
        raise ReconnectRequired(_RECONNECT) from None
    except BaseException as exc:
        telemetry.count_refresh_error(exc)
        _release(uow_factory, connection_id, owner)
        raise
    telemetry.metrics().count_refresh("ok")
    _persist(uow_factory, clock, connection_id, owner, grant)
    return grant


def _service_error(exc: TransientUpstream | UpstreamMisconfigured) -> ServiceError:
    if isinstance(exc, UpstreamMisconfigured):
        log.error("token refresh refused: the OAuth client is misconfigured")
        return UpstreamUnavailable("Google refused the service's OAuth client; the operator "
                                   "must check its configuration", retry_after=60)
    return UpstreamUnavailable("Google's token endpoint is unavailable; try again shortly",
                               retry_after=exc.retry_after or 5)


@telemetry.timed_detection
def _purge(uow_factory: UowFactory, clock: Clock, connection_id: str) -> None:
    """Report the dead grant; its handler purges in this transaction."""
    with uow_factory() as uow:
        connection = uow.connections.get(connection_id)
        if connection is not None:  # None: deleted (privacy forget purged it first)
            uow.record(ConnectionRevoked.of(connection, RevocationReason.INVALID_GRANT,
                                            trigger="refresh"))
        handlers.commit(uow, clock)
    log.info("connection purged: refresh answered invalid_grant",
             extra={"connection_id": connection_id})


def report_invalid_grant(uow_factory: UowFactory, clock: Clock, connection_id: str) -> None:
    """Google answered ``invalid_grant`` for this connection's refresh token (the checker's
    batched refresh): purge it, as a refresh of our own does."""
    _purge(uow_factory, clock, connection_id)


def _release(uow_factory: UowFactory, connection_id: str, owner: str) -> None:
    with uow_factory() as uow:
        uow.leases.release(connection_id, owner)
        uow.commit()


def _persist(
    uow_factory: UowFactory, clock: Clock, connection_id: str, owner: str, grant: TokenGrant
) -> None:
    """Store the new access token (and a rotated refresh token) and give the lease back."""
    key = connection_owner(connection_id)
    with uow_factory() as uow:
        connection = uow.connections.get(connection_id)
        if connection is None or connection.status is not Status.CONNECTED:
            uow.commit()  # purged while we refreshed: store nothing
            raise ReconnectRequired(_RECONNECT)
        uow.tokens.put(key, ACCESS_TOKEN, grant.access_token.encode())
        if grant.refresh_token:
            uow.tokens.put(key, REFRESH_TOKEN, grant.refresh_token.encode())
            uow.tokens.index_refresh_token(key, grant.refresh_token)
        now = clock.now()
        uow.connections.update(connection_id, access_token_expires_at=grant.expires_at,
                               last_verified_at=now, updated_at=now)
        uow.leases.release(connection_id, owner)
        uow.commit()


def refresh_connection(
    uow_factory: UowFactory, google: GoogleAccounts, clock: Clock, connection_id: str, *,
    lease_owner: str,
) -> RefreshOutcome:
    """Force one refresh now (the checker's verification); see the module docstring."""
    with uow_factory() as uow:
        connection = uow.connections.get(connection_id)
        if connection is None or connection.status is not Status.CONNECTED:
            return RefreshOutcome("not_connected")
        now = clock.now()
        if not uow.leases.acquire(connection_id, lease_owner, now,
                                  now + timedelta(seconds=LEASE_SECONDS)):
            return RefreshOutcome("busy")
        refresh_token = uow.tokens.get(connection_owner(connection_id), REFRESH_TOKEN)
        if refresh_token is None:
            uow.leases.release(connection_id, lease_owner)
        uow.commit()
    if refresh_token is None:
        return RefreshOutcome("not_connected")
    try:
        with heartbeat.keep_lease(uow_factory, clock, connection_id, lease_owner,
                                  LEASE_SECONDS):
            _refresh_or_raise(uow_factory, google, clock, connection_id, lease_owner,
                              refresh_token)
    except ReconnectRequired:
        return RefreshOutcome("revoked")
    except UpstreamMisconfigured:
        return RefreshOutcome("misconfigured")
    except TransientUpstream as exc:
        return RefreshOutcome("transient", exc.retry_after)
    return RefreshOutcome("refreshed")
