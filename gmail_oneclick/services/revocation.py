"""The one purge path every revocation trigger uses. (Extended by the revocation issue.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gmail_oneclick.model import RevocationReason, connection_owner
from gmail_oneclick.ports import Clock
from gmail_oneclick.services import webhooks

if TYPE_CHECKING:
    from gmail_oneclick.storage import UnitOfWork


def purge_connection(
    uow: UnitOfWork,
    clock: Clock,
    connection_id: str,
    reason: RevocationReason,
    *,
    trigger: str,
) -> bool:
    """Hard-delete a connection's secrets and mark it ``reconnect_required`` with ``reason``,
    queueing the audit record and the ``connection.revoked`` webhook in the same transaction.

    The caller commits. Returns False when the connection was already purged or does not exist
    (its secrets are deleted anyway, so a retry is always safe).
    """
    connection = uow.connections.get(connection_id, for_update=True)
    uow.tokens.purge(connection_owner(connection_id))
    uow.mark_purged()
    if connection is None:
        return False
    now = clock.now()
    changed = uow.connections.mark_reconnect_required(connection_id, reason.value, now)
    if changed:
        uow.audit.record(
            "connection:revoked", now, site_id=connection.site_id, connection_id=connection_id,
            reason=reason.value, trigger=trigger,
        )
        webhooks.enqueue_event(
            uow, clock, site_id=connection.site_id, type_=webhooks.REVOKED,
            connection_id=connection_id, email=connection.email, reason=reason.value,
        )
    return changed
