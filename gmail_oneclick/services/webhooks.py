"""Webhook events for sites: queued in the caller's transaction (outbox), delivered after it.

Once the transaction commits, the process that committed posts the event at once
(``deliver_event``, from its in-process dispatcher); the checker's sweep (``deliver_due``) is
the retry path. Both lease the row first, so an event is never posted by both. Delivery
signs each event per the Standard Webhooks specification with the site's ``whsec_`` secret,
posts it with a short timeout, and retries with exponential backoff and full jitter until it
is delivered or a day has passed. The event id (``webhook-id``) stays the same across retries
so receivers can deduplicate.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from standardwebhooks import Webhook

from gmail_oneclick.domain.ids import new_id
from gmail_oneclick.domain.model import rfc3339
from gmail_oneclick.domain.records import OutboxEvent
from gmail_oneclick.ports import Clock, UnitOfWork, UowFactory, WebhookTransport
from gmail_oneclick.services import sites, telemetry

log = logging.getLogger(__name__)

CONNECTED = "connection.connected"
REVOKED = "connection.revoked"

GIVE_UP_AFTER = timedelta(days=1)
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 3600.0
# Longer than one post can take (the transport's timeout), so a lease never expires mid-post.
LEASE_SECONDS = 60


@dataclass
class DeliveryCounts:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


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
    uow.outbox.add(event_id=event_id, site_id=site_id, type_=type_, payload=payload, at=now,
                   connection_id=connection_id)
    return event_id


def retry_delay(attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential backoff with full jitter after ``attempts`` failed posts (>= 1)."""
    ceiling = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=max(1.0, ceiling * rng()))


def signed_request(secret: str, event: OutboxEvent, clock: Clock) -> tuple[bytes, dict[str, str]]:
    """The body and Standard Webhooks headers; the timestamp is the send time, as verifiers
    reject signatures older than a few minutes."""
    body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True)
    now = clock.now()
    signature = Webhook(secret).sign(event.id, now, body)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": event.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode("utf-8"), headers


def deliver_due(
    uow_factory: UowFactory,
    transport: WebhookTransport,
    clock: Clock,
    *,
    lease_owner: str,
    limit: int = 100,
    concurrency: int = 4,
) -> DeliveryCounts:
    """Post every due outbox event once (leased, so no other process posts it meanwhile).

    Never raises for a receiver's failure: those are counted and rescheduled.
    """
    now = clock.now()
    with uow_factory() as uow:
        events = uow.outbox.claim_due(
            now, limit=limit, lease_owner=lease_owner,
            lease_until=now + timedelta(seconds=LEASE_SECONDS),
        )
        uow.commit()
    counts = DeliveryCounts()
    if not events:
        return counts
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        outcomes = list(pool.map(
            lambda e: _deliver_one(uow_factory, transport, clock, e, lease_owner), events
        ))
    for outcome in outcomes:
        setattr(counts, outcome, getattr(counts, outcome) + 1)
    return counts


def deliver_event(
    uow_factory: UowFactory,
    transport: WebhookTransport,
    clock: Clock,
    event_id: str,
    *,
    lease_owner: str,
) -> str | None:
    """Post one committed event now if it is still due: "delivered", "retried" or "failed",
    or None when it is not due (delivered already, backing off, or leased by another
    deliverer). Never raises for a receiver's failure."""
    now = clock.now()
    with uow_factory() as uow:
        event = uow.outbox.claim(event_id, now, lease_owner=lease_owner,
                                 lease_until=now + timedelta(seconds=LEASE_SECONDS))
        uow.commit()
    if event is None:
        return None
    return _deliver_one(uow_factory, transport, clock, event, lease_owner)


def _deliver_one(
    uow_factory: UowFactory,
    transport: WebhookTransport,
    clock: Clock,
    event: OutboxEvent,
    lease_owner: str,
) -> str:
    with uow_factory() as uow:
        site = uow.sites.get(event.site_id)
        secret = sites.webhook_secret(uow, event.site_id)
    status = 0
    if site is not None and site.webhook_url and secret:
        body, headers = signed_request(secret, event, clock)
        status = transport.post(site.webhook_url, body, headers)
    attempts = event.attempts + 1
    now = clock.now()
    with uow_factory() as uow:
        if 200 <= status < 300:
            uow.outbox.mark_delivered(event.id, lease_owner, at=now, attempts=attempts,
                                      status=status)
            outcome = "delivered"
        elif now - event.created_at >= GIVE_UP_AFTER or site is None or not site.webhook_url:
            uow.outbox.mark_failed(event.id, lease_owner, at=now, attempts=attempts,
                                   status=status)
            outcome = "failed"
        else:
            uow.outbox.mark_retry(event.id, lease_owner, next_at=now + retry_delay(attempts),
                                  attempts=attempts, status=status)
            outcome = "retried"
        uow.commit()
    log.info("webhook attempt", extra={"event_id": event.id, "site_id": event.site_id,
                                       "status": status, "attempts": attempts,
                                       "outcome": outcome})
    telemetry.metrics().count_webhook_delivery(outcome)
    return outcome
