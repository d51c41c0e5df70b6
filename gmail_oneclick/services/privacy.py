"""Data-subject rights: export everything held about a Google account, and forget it.

Exports never carry a secret or message content: a connection's public fields, its site, the
tags and times of its audit events, and how long each kind of record is kept (``retention``).
Forget revokes at Google, purges, and deletes every record naming the account (email, Google
``sub``), keeping in the audit trail only connection ids with their event tags and times.
"""

from __future__ import annotations

import logging
from typing import Any

from gmail_oneclick.domain.errors import NotFound
from gmail_oneclick.domain.events import ConnectionRevoked
from gmail_oneclick.domain.model import Connection, RevocationReason, rfc3339
from gmail_oneclick.ports import Clock, GoogleAccounts, UnitOfWork, UowFactory
from gmail_oneclick.services import handlers
from gmail_oneclick.services.revocation import revocable_token, revoke_quietly

log = logging.getLogger(__name__)


def _export_connection(uow: UnitOfWork, connection: Connection) -> dict[str, Any]:
    site = uow.sites.get(connection.site_id)
    public = connection.to_public()
    public.pop("email", None)  # named once, at the top of the export
    public["site"] = (
        {"id": site.id, "name": site.name, "origin": site.origins[0] if site.origins else None}
        if site else {"id": connection.site_id, "name": None, "origin": None}
    )
    public["events"] = [
        {"at": rfc3339(e["at"]), "type": e["type"]}
        for e in uow.audit.for_connection(connection.id)
    ]
    return public


def _account_connections(uow: UnitOfWork, email: str) -> list[Connection]:
    """Connections with this email, and those of the same Google ids (the email may have
    changed since another site connected)."""
    by_email = uow.connections.list_by_email(email)
    subs = sorted({c.google_sub for c in by_email if c.google_sub})
    found = {c.id: c for c in by_email}
    for c in uow.connections.list_by_subs(subs):
        found.setdefault(c.id, c)
    return sorted(found.values(), key=lambda c: (c.created_at, c.id))


def export_connection(uow: UnitOfWork, site_id: str, connection_id: str, *,
                      retention: dict[str, int]) -> dict[str, Any]:
    """The export of one of the site's connections. Raises NotFound."""
    connection = uow.connections.get_for_site(site_id, connection_id)
    if connection is None:
        raise NotFound("no such connection")
    return {"email": connection.email,
            "connections": [_export_connection(uow, connection)], "retention": retention}


def export_email(uow: UnitOfWork, email: str, *, retention: dict[str, int]) -> dict[str, Any]:
    """Everything held about the Google account with this email (empty for an unknown one).
    ``retention``: how long records are kept (Settings.retention())."""
    email = email.strip()
    connections = _account_connections(uow, email)
    return {"email": email, "connections": [_export_connection(uow, c) for c in connections],
            "retention": retention}


def forget_email(
    uow_factory: UowFactory, google: GoogleAccounts, clock: Clock, email: str
) -> int:
    """Revoke at Google, purge, and delete every record naming the account. Returns how many
    connections were forgotten (0 for an unknown email, which is not an error)."""
    email = email.strip()
    with uow_factory() as uow:
        connections = _account_connections(uow, email)
        tokens = [(c.id, revocable_token(uow, c.id)) for c in connections]
    # Every token, not one per account: a token already dead (Google's 100-token limit)
    # says nothing about the others. Failures never stop the local deletion.
    for connection_id, token in tokens:
        if token:
            revoke_quietly(google, token, connection_id=connection_id)
    ids = [c.id for c in connections]
    with uow_factory() as uow:
        for c in connections:
            uow.record(ConnectionRevoked.of(c, RevocationReason.FORGOTTEN,
                                            trigger="privacy_forget", email_in_webhook=False))
        # Purged and announced before the rows and the email in queued webhooks go.
        handlers.handle_recorded(uow, clock)
        uow.outbox.scrub_email(ids)
        uow.connections.forget(ids, email)
        now = clock.now()
        for c in connections:
            uow.audit.record("connection:forgotten", now, site_id=c.site_id, connection_id=c.id)
        uow.mark_purged()
        uow.commit()
    log.info("account forgotten", extra={"count": len(ids)})
    return len(ids)
