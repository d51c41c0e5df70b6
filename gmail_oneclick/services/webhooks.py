"""Webhook events for sites: queued in the caller's transaction (outbox), delivered later."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gmail_oneclick.ids import new_id
from gmail_oneclick.model import rfc3339
from gmail_oneclick.ports import Clock

if TYPE_CHECKING:
    from gmail_oneclick.storage import UnitOfWork

CONNECTED = "connection.connected"
REVOKED = "connection.revoked"


def enqueue_event(
    uow: UnitOfWork,
    clock: Clock,
    *,
    site_id: str,
    type_: str,
    connection_id: str,
    email: str | None,
    reason: str | None = None,
) -> str | None:
    """Queue a webhook event in the caller's transaction. Returns the event id, or None when the
    site has no webhook URL. Does not commit."""
    site = uow.sites.get(site_id)
    if site is None or not site.webhook_url:
        return None
    now = clock.now()
    event_id = new_id("msg")
    payload = {
        "type": type_,
        "timestamp": rfc3339(now),
        "data": {"connection_id": connection_id, "email": email, "reason": reason},
    }
    uow.outbox.add(event_id=event_id, site_id=site_id, type_=type_, payload=payload, at=now)
    return event_id
