"""Reading connections: a site's (GET /v1/connections, GET /v1/connections/{id}, the CLI's
``connections list`` and ``sites show``) and when the checker next verifies one."""

from __future__ import annotations

from datetime import datetime

from gmail_oneclick.domain.errors import NotFound
from gmail_oneclick.domain.model import Connection, RevocationReason, Site
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


def site_overview(uow: UnitOfWork, site_id: str) -> tuple[Site, list[Connection]]:
    """A site and its connections (``sites show``). Raises NotFound for an unknown site."""
    site = uow.sites.get(site_id)
    if site is None:
        raise NotFound(f"no site with id {site_id!r}")
    return site, list_for_site(uow, site_id)


def next_check_due(uow: UnitOfWork, now: datetime) -> datetime | None:
    """When the revocation checker next has a connection to verify: ``now`` when one is due
    already, None when no connection is connected (nothing will be due until one is)."""
    return uow.connections.next_check_at(now)
