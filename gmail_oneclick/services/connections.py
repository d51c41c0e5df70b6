"""Reading a site's connections (GET /v1/connections, GET /v1/connections/{id})."""

from __future__ import annotations

from gmail_oneclick.domain.errors import NotFound
from gmail_oneclick.domain.model import Connection, RevocationReason
from gmail_oneclick.ports import UnitOfWork


def _visible(connection: Connection) -> bool:
    # After `privacy forget` a connection answers 404: only its id is kept, for the audit trail.
    return connection.revocation_reason != RevocationReason.FORGOTTEN.value


def list_for_site(uow: UnitOfWork, site_id: str) -> list[Connection]:
    """The site's connections, oldest first, whatever their status."""
    return [c for c in uow.connections.list_for_site(site_id) if _visible(c)]


def get_for_site(uow: UnitOfWork, site_id: str, connection_id: str) -> Connection:
    """One of the site's connections. Raises NotFound (also for another site's connection)."""
    connection = uow.connections.get_for_site(site_id, connection_id)
    if connection is None or not _visible(connection):
        raise NotFound("no such connection for this site")
    return connection
