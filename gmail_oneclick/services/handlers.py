"""What follows a connection's domain events, in the transaction that recorded them.

Use cases record ``ConnectionRevoked`` or ``ConnectionConnected`` on their unit of work and
end with ``commit(uow, clock)``: every recorded event is handled here first, so the purge, its
audit record and its webhook commit together or not at all. This is the one purge path
(docs/REVOCATION.md). Calling Google is not done here: a transaction never waits on the
network, so use cases revoke at Google before they record.

Handlers import no use case (services.tokens and services.revocation both record events), so
neither has to import the other; import-linter keeps it so.
"""

from __future__ import annotations

from typing import assert_never

from gmail_oneclick.domain.events import ConnectionConnected, ConnectionRevoked, Event
from gmail_oneclick.domain.model import connection_owner
from gmail_oneclick.ports import Clock, UnitOfWork
from gmail_oneclick.services import telemetry, webhooks


def connection_revoked(uow: UnitOfWork, clock: Clock, event: ConnectionRevoked) -> bool:
    """Hard-delete the connection's secrets and mark it ``reconnect_required``; the first time
    only, also the ``connection:revoked`` audit record and the ``connection.revoked`` webhook.

    Returns False when it was revoked before or is gone (its secrets are deleted anyway, so
    handling an event twice is safe).
    """
    connection = uow.connections.get(event.connection_id, for_update=True)
    uow.tokens.purge(connection_owner(event.connection_id))
    uow.mark_purged()
    if connection is None:
        return False
    now = clock.now()
    reason = event.reason.value
    if not uow.connections.mark_reconnect_required(event.connection_id, reason, now):
        return False
    telemetry.metrics().count_purge(reason)
    uow.audit.record("connection:revoked", now, site_id=event.site_id,
                     connection_id=event.connection_id, reason=reason, trigger=event.trigger)
    webhooks.enqueue_event(uow, clock, site_id=event.site_id, type_=webhooks.REVOKED,
                           connection_id=event.connection_id, email=event.email, reason=reason)
    return True


def connection_connected(uow: UnitOfWork, clock: Clock, event: ConnectionConnected) -> None:
    """The ``connection:connected`` audit record and the ``connection.connected`` webhook."""
    uow.audit.record(
        "connection:connected", clock.now(), site_id=event.site_id,
        connection_id=event.connection_id,
        outcome="reconnected" if event.reconnected else "new", scopes=list(event.scopes),
    )
    webhooks.enqueue_event(uow, clock, site_id=event.site_id, type_=webhooks.CONNECTED,
                           connection_id=event.connection_id, email=event.email)


def handle(uow: UnitOfWork, clock: Clock, event: Event) -> None:
    """Act on one event in ``uow``'s transaction."""
    if isinstance(event, ConnectionRevoked):
        connection_revoked(uow, clock, event)
    elif isinstance(event, ConnectionConnected):
        connection_connected(uow, clock, event)
    else:
        assert_never(event)


def handle_recorded(uow: UnitOfWork, clock: Clock) -> None:
    """Handle every event recorded on ``uow`` so far, in order, without committing: for a use
    case whose later writes must come after the purge (privacy forget deletes the rows)."""
    while events := uow.collect_events():
        for event in events:
            handle(uow, clock, event)


def commit(uow: UnitOfWork, clock: Clock) -> None:
    """Handle the recorded events, then commit them and everything else in ``uow``."""
    handle_recorded(uow, clock)
    uow.commit()
