"""Sending one message through a connection's Gmail account.

Order matters: everything that can be refused locally (message shape, size, recipients, which
connection, its status and scope, the Idempotency-Key) is refused before anything goes
upstream. No transaction is open while Gmail or Google is called (on SQLite each transaction
holds the write lock). The audit trail and logs get the Gmail id, recipient count and size;
never a subject, an address or any content.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import BinaryIO

from gmail_oneclick.domain import errors
from gmail_oneclick.domain.model import GMAIL_SEND, Connection, Status
from gmail_oneclick.ports import (
    Clock,
    GmailDeliveryUnknown,
    GmailRateLimited,
    GmailRejected,
    GmailSender,
    GmailSent,
    GmailUnauthorized,
    GoogleAccounts,
    TransientUpstream,
    UnitOfWork,
    UowFactory,
)
from gmail_oneclick.services import send_keys, telemetry, tokens
from gmail_oneclick.services.mime import MessageInfo, inspect_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    id: str
    thread_id: str
    connection_id: str
    replayed: bool = False


@dataclass
class Sending:
    """The collaborators of a send (built once per request by the web layer)."""

    uow_factory: UowFactory
    google: GoogleAccounts
    gmail: GmailSender
    clock: Clock
    attempts: int = 3
    backoff_base: float = 0.25
    backoff_cap: float = 4.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    # How long a send holds its Idempotency-Key before a repeat may call it delivery_unknown.
    idempotency_lease: timedelta = send_keys.DEFAULT_LEASE
    # Units of work that only read (on SQLite they take no write lock); uow_factory if None.
    read_uow_factory: UowFactory | None = None


@dataclass(frozen=True)
class Outgoing:
    """One message to send: its bytes as a seekable stream, and how to route it."""

    site_id: str
    message: BinaryIO
    size: int
    connection_id: str | None = None
    account_email: str | None = None  # Post SMTP's gmail_email: a stronger hint than From
    idempotency_key: str | None = None


@telemetry.timed_send
def send_message(s: Sending, out: Outgoing) -> SendResult:
    """Send ``out`` and return Gmail's ids (or the first result of a repeated Idempotency-Key).

    Raises errors.ServiceError children: InvalidMessage, TooManyRecipients, MessageTooLarge,
    ConnectionRequired, NotFound, ReconnectRequired, ScopeMissing, IdempotencyInProgress,
    IdempotencyKeyReused, RateLimited, UpstreamUnavailable, DeliveryUnknown (the message may
    have been sent), MailServiceNotEnabled, PermissionDeniedUpstream.
    """
    info = inspect_message(out.message, out.size)
    key_hash = send_keys.key_hash(out.idempotency_key)
    # Without a key the first unit of work only reads (on SQLite: no write lock); with one,
    # it writes the key's claim.
    factory = s.uow_factory if key_hash is not None else (s.read_uow_factory or s.uow_factory)
    with factory() as uow:
        # The key first: a repeat gets the first result even if the connection changed since.
        if key_hash is not None:
            first = send_keys.claim(uow, s.clock.now(), out.site_id, out.message, key_hash,
                                    s.idempotency_lease)
            if first is not None and first.gmail_id and first.connection_id:
                return SendResult(first.gmail_id, first.thread_id or first.gmail_id,
                                  first.connection_id, replayed=True)
        # Refusing here rolls the claim back with the rest of this unit of work.
        connection = choose_connection(uow, out.site_id, out.connection_id,
                                       out.account_email or info.from_address)
        # The usual case in the same transaction: a fresh cached token (None: ask tokens).
        token = tokens.cached_access_token(uow, s.clock, connection)
        uow.commit()
    try:
        sent = _send_with_retries(s, connection.id, out, token=token)
    except errors.ServiceError as exc:
        _finish(s, out, connection.id, key_hash, info, None, exc.code)
        raise
    except Exception:
        # Not from Gmail's answer (the adapter reports a lost one as delivery unknown).
        _finish(s, out, connection.id, key_hash, info, None, "internal_error")
        raise
    # Anything else (SystemExit when a worker is aborted) leaves the key to its lease.
    _finish(s, out, connection.id, key_hash, info, sent, "sent")
    return SendResult(sent.id, sent.thread_id, connection.id)


def choose_connection(
    uow: UnitOfWork, site_id: str, connection_id: str | None, email: str | None
) -> Connection:
    """By id; else the connection whose email is ``email``; else the site's only connection.

    Raises NotFound, ConnectionRequired (naming the connected emails), ReconnectRequired,
    ScopeMissing.
    """
    if connection_id:
        chosen = uow.connections.get_for_site(site_id, connection_id)
        if chosen is None:
            raise errors.NotFound("no such connection for this site")
        return _ready(chosen)
    candidates = [c for c in uow.connections.list_for_site(site_id) if c.email]
    if email:
        matches = [c for c in candidates if c.email and c.email.lower() == email.lower()]
        if matches:  # a connected one first, should a stale one share the address
            return _ready(sorted(matches, key=lambda c: c.status is not Status.CONNECTED)[0])
    if len(candidates) == 1:
        return _ready(candidates[0])
    if not candidates:
        raise errors.ConnectionRequired("no Gmail account is connected to this site yet")
    listed = ", ".join(sorted({c.email for c in candidates if c.email}))
    raise errors.ConnectionRequired(
        "the From address matches none of this site's connected Gmail accounts "
        f"({listed}); send from one of them or pass connection_id"
    )


def _ready(connection: Connection) -> Connection:
    if connection.status is not Status.CONNECTED:
        raise errors.ReconnectRequired(
            f"connection {connection.id} needs the site admin to connect Gmail again")
    if GMAIL_SEND not in connection.scopes:
        raise errors.ScopeMissing("the Google account did not grant permission to send mail")
    return connection


def _send_with_retries(s: Sending, connection_id: str, out: Outgoing, *,
                       token: str | None = None) -> GmailSent:
    """401: one forced refresh and one retry. Failures where Gmail cannot have taken the
    message (not connected, 500, 503): bounded jittered backoff; a 429 too when Google's wait
    fits in ``backoff_cap``. A lost answer is never retried: DeliveryUnknown.

    ``token``: a fresh cached access token already read, else one is asked of services.tokens.
    """
    if token is None:
        token = tokens.access_token(s.uow_factory, s.google, s.clock, connection_id)
    refreshed = False
    attempt = 0
    while True:
        attempt += 1
        try:
            return s.gmail.send(token, out.message, out.size)
        except GmailUnauthorized:
            if refreshed:
                raise errors.UpstreamUnavailable(
                    "Gmail refused a freshly refreshed token; try again later", retry_after=60
                ) from None
            refreshed = True
            attempt -= 1  # the retry after a refresh is not a failure of Gmail's
            token = tokens.access_token(s.uow_factory, s.google, s.clock, connection_id,
                                        rejected=token)
        except GmailDeliveryUnknown:
            raise errors.DeliveryUnknown(send_keys.DELIVERY_UNKNOWN) from None
        except GmailRateLimited as exc:
            s.sleep(_rate_limit_wait(s, exc, attempt))
        except GmailRejected as exc:
            raise rejected_error(exc) from None
        except TransientUpstream as exc:
            s.sleep(_backoff(s, exc, attempt))


def _rate_limit_wait(s: Sending, exc: GmailRateLimited, attempt: int) -> float:
    """Google's wait when another attempt is left and the wait fits in ``backoff_cap``;
    raises RateLimited (with that wait) otherwise."""
    wait = exc.retry_after or 60
    if attempt >= max(1, s.attempts) or wait > s.backoff_cap:
        raise errors.RateLimited("Gmail is rate limiting this account; retry later",
                                 retry_after=wait) from None
    return wait


def _backoff(s: Sending, exc: TransientUpstream, attempt: int) -> float:
    """A jittered wait before the next attempt; raises UpstreamUnavailable after the last."""
    if attempt >= max(1, s.attempts):
        raise errors.UpstreamUnavailable("Gmail is unavailable; try again shortly",
                                         retry_after=exc.retry_after or 30) from None
    # Full jitter: retries from many senders spread out instead of arriving together.
    return random.uniform(0, min(s.backoff_cap, s.backoff_base * 2 ** attempt))  # noqa: S311


def rejected_error(exc: GmailRejected) -> errors.ServiceError:
    """A permanent Gmail refusal as a stable code; our own words, never Google's echo."""
    if exc.reason == "failedPrecondition":
        return errors.MailServiceNotEnabled(
            "this Google account has no Gmail (mail service not enabled); connect an account "
            "that has Gmail")
    if exc.reason == "insufficientPermissions":
        return errors.ScopeMissing("the Google account did not grant permission to send mail; "
                                   "the site admin must connect again and allow sending")
    if exc.status == 413:
        return errors.MessageTooLarge("Gmail refused the message as too large")
    if exc.status == 403:
        return errors.PermissionDeniedUpstream(
            "Gmail refused to send for this account (for example a Workspace administrator "
            "blocked API access)")
    return errors.InvalidMessage("Gmail refused the message as malformed")


def _finish(s: Sending, out: Outgoing, connection_id: str, key_hash: str | None,
            info: MessageInfo, sent: GmailSent | None, outcome: str) -> None:
    """Audit the send and settle its Idempotency-Key, in one transaction."""
    with s.uow_factory() as uow:
        now = s.clock.now()
        uow.audit.record(
            "message:sent" if sent else "message:failed", now, site_id=out.site_id,
            connection_id=connection_id, outcome=outcome,
            gmail_id=sent.id if sent else None, recipients=info.recipients, size=info.size,
        )
        if key_hash is not None:
            send_keys.settle(uow, out.site_id, key_hash, connection_id,
                             (sent.id, sent.thread_id) if sent else None, outcome)
        uow.commit()
    log.info("message %s", outcome, extra={
        "connection_id": connection_id, "gmail_id": sent.id if sent else None,
        "recipients": info.recipients, "size": info.size, "outcome": outcome})
