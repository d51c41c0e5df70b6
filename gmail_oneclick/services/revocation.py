"""Revocation triggers that are ours, and the checker's verification.

Every trigger records a ``ConnectionRevoked`` event; services.handlers purges, audits and
queues the webhook in the same transaction (docs/REVOCATION.md). Triggers: ``invalid_grant``
on a refresh (services.tokens), Cross-Account Protection (RISC) security events, the site's
DELETE (disconnect) and privacy forget (services.privacy). The checker verifies connections
through verify_connection.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from gmail_oneclick.domain.errors import NotFound
from gmail_oneclick.domain.events import ConnectionRevoked
from gmail_oneclick.domain.model import (
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    Connection,
    RevocationReason,
    Status,
    connection_owner,
)
from gmail_oneclick.domain.security_events import (
    ACCOUNT_DISABLED,
    CREDENTIAL_CHANGE_REQUIRED,
    SESSIONS_REVOKED,
    TOKEN_REVOKED,
    TOKENS_REVOKED,
)
from gmail_oneclick.ports import Clock, GoogleAccounts, UnitOfWork, UowFactory, UpstreamError
from gmail_oneclick.services import handlers, tokens

log = logging.getLogger(__name__)


PURGING_EVENTS = {
    TOKENS_REVOKED: RevocationReason.RISC_TOKENS_REVOKED,
    TOKEN_REVOKED: RevocationReason.RISC_TOKEN_REVOKED,
    ACCOUNT_DISABLED: RevocationReason.RISC_ACCOUNT_DISABLED,
}
VERIFYING_EVENTS = frozenset({SESSIONS_REVOKED, CREDENTIAL_CHANGE_REQUIRED})



def revocable_token(uow: UnitOfWork, connection_id: str) -> str | None:
    """The token to send to Google's revoke endpoint (refresh token, else access token)."""
    owner = connection_owner(connection_id)
    raw = uow.tokens.get(owner, REFRESH_TOKEN) or uow.tokens.get(owner, ACCESS_TOKEN)
    return raw.decode("utf-8") if raw else None


def revoke_quietly(google: GoogleAccounts, token: str, *, connection_id: str) -> bool:
    """Revoke at Google; a failure is logged and reported as False, never raised: the local
    purge must happen whatever Google answers."""
    try:
        return google.revoke(token)
    except UpstreamError as exc:
        log.warning("revoke at Google failed; purging locally anyway",
                    extra={"connection_id": connection_id, "error": type(exc).__name__})
        return False


def disconnect(
    uow_factory: UowFactory, google: GoogleAccounts, clock: Clock, *, site_id: str,
    connection_id: str,
) -> bool:
    """The site's DELETE: revoke at Google unless another live connection shares the Google
    account's grant (revoking any token ends the whole grant), then purge.

    Returns True when Google confirmed the revocation. Raises NotFound for another site's or
    an unknown connection.
    """
    with uow_factory() as uow:
        connection = uow.connections.get_for_site(site_id, connection_id)
        if connection is None:
            raise NotFound("no such connection")
        token = revocable_token(uow, connection_id)
        shared = bool(connection.google_sub) and uow.connections.count_live_sharing_grant(
            connection.google_sub or "", excluding=connection_id) > 0
    # Outside any transaction: a slow Google must not hold database locks.
    revoked = False
    if token and not shared:
        revoked = revoke_quietly(google, token, connection_id=connection_id)
    with uow_factory() as uow:
        current = uow.connections.get(connection_id)
        if current is not None:  # None: forgotten meanwhile, which purged it
            uow.record(ConnectionRevoked.of(current, RevocationReason.DISCONNECTED,
                                            trigger="delete"))
        handlers.commit(uow, clock)
    log.info("connection disconnected", extra={"connection_id": connection_id,
                                                 "revoked_at_google": revoked, "shared": shared})
    return revoked


# ---- Cross-Account Protection (RISC) --------------------------------------------------------


@dataclass
class SecurityEventResult:
    duplicate: bool = False
    event_types: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    to_verify: list[str] = field(default_factory=list)


def _connections_for_subject(uow: UnitOfWork, subject: Any) -> list[Connection]:
    if not isinstance(subject, dict):
        return []
    kind = subject.get("subject_type")
    if kind == "iss-sub" and isinstance(subject.get("sub"), str):
        return uow.connections.list_by_sub(subject["sub"])
    if kind == "email" and isinstance(subject.get("email"), str):
        return uow.connections.list_by_email(subject["email"])
    if kind == "oauth_token" and isinstance(subject.get("token"), str):
        alg = subject.get("token_identifier_alg")
        if alg == "prefix":
            owners = uow.tokens.owners_by_token_prefix(subject["token"])
        elif alg == "hash_base64_sha512_sha512":
            owners = uow.tokens.owners_by_token_hash(subject["token"])
        else:
            return []
        ids = [o.split(":", 1)[1] for o in owners if o.startswith("connection:")]
        found = [uow.connections.get(i) for i in ids]
        return [c for c in found if c is not None]
    return []


def _revoke(uow: UnitOfWork, connections: list[Connection], reason: RevocationReason,
            result: SecurityEventResult) -> None:
    """Record the revocations; every matching connection's secrets go, even one revoked
    before, but only a connected one counts (one token may carry several purging events)."""
    for c in connections:
        uow.record(ConnectionRevoked.of(c, reason, trigger="risc"))
        if c.status is Status.CONNECTED and c.id not in result.purged:
            result.purged.append(c.id)


def handle_security_event(
    uow: UnitOfWork, clock: Clock, claims: dict[str, Any]
) -> SecurityEventResult:
    """Act on a verified Security Event Token's claims in the caller's transaction.

    A ``jti`` seen before is a replay: nothing happens again (``duplicate``). Purging events
    record ``ConnectionRevoked`` for every matching connection (``purged`` lists those still
    connected); sessions-revoked and credential-change-required schedule the account's other
    connections for an immediate check (durable) and return them in ``to_verify`` so the
    caller can verify them at once after committing. The caller commits with
    services.handlers.commit.
    """
    events: dict[str, Any] = claims["events"]
    result = SecurityEventResult(event_types=sorted(events))
    now = clock.now()
    if not uow.risc.remember(str(claims["jti"]), result.event_types, now):
        result.duplicate = True
        return result
    for event_type, body in events.items():
        subject = body.get("subject") if isinstance(body, dict) else None
        subject = subject or claims.get("sub_id")
        connections = _connections_for_subject(uow, subject)
        if event_type in PURGING_EVENTS:
            _revoke(uow, connections, PURGING_EVENTS[event_type], result)
        elif event_type in VERIFYING_EVENTS:
            for c in connections:
                if (c.status is Status.CONNECTED and c.id not in result.purged
                        and uow.connections.schedule_check(c.id, now)):
                    result.to_verify.append(c.id)
    uow.audit.record("risc:received", now, event_types=[t.rsplit("/", 1)[-1]
                                                        for t in result.event_types],
                     count=len(result.purged) + len(result.to_verify))
    return result


# ---- verification (the checker, and RISC's verify-now events) -------------------------------

CHECK_OK = "ok"
CHECK_REVOKED = "revoked"
CHECK_TRANSIENT = "transient"
CHECK_SKIPPED = "skipped"
CHECK_ERROR = "error"
RETRY_SECONDS = 300
BUSY_RETRY_SECONDS = 60

# services.tokens.RefreshOutcome.status -> the checker's counters.
_OUTCOMES = {
    "refreshed": CHECK_OK,
    "revoked": CHECK_REVOKED,
    "transient": CHECK_TRANSIENT,
    "misconfigured": CHECK_ERROR,
    "busy": CHECK_SKIPPED,  # a send is refreshing it right now, which verifies it too
    "not_connected": CHECK_SKIPPED,
}


def next_check_after(interval: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Somewhere in the last fifth of ``interval``: spreads checks out, never later than it."""
    return timedelta(seconds=interval * (0.8 + 0.2 * rng()))


def retry_after(outcome: str, retry_after: int | None = None,
                rng: Callable[[], float] = random.random) -> timedelta:
    """When to check again after ``outcome`` (not CHECK_OK): Google's Retry-After, or a few
    minutes (about one when someone else was refreshing it)."""
    base = BUSY_RETRY_SECONDS if outcome == CHECK_SKIPPED else RETRY_SECONDS
    return timedelta(seconds=max(retry_after or 0, base * (0.5 + rng())))


def verify_connection(
    uow_factory: UowFactory, google: GoogleAccounts, clock: Clock, connection_id: str, *,
    lease_owner: str, interval: int,
) -> str:
    """Force a refresh (services.tokens reports ``invalid_grant``, which purges) and schedule
    the next check.

    Returns CHECK_OK, CHECK_REVOKED (purged), CHECK_TRANSIENT (Google unavailable: postponed,
    nothing purged), CHECK_SKIPPED (being refreshed elsewhere, or no longer connected) or
    CHECK_ERROR (our OAuth client is misconfigured: postponed, nothing purged).
    """
    result = tokens.refresh_connection(uow_factory, google, clock, connection_id,
                                       lease_owner=lease_owner)
    outcome = _OUTCOMES.get(result.status, CHECK_ERROR)
    if outcome == CHECK_REVOKED:
        return outcome
    delay = (next_check_after(interval) if outcome == CHECK_OK
             else retry_after(outcome, result.retry_after))
    with uow_factory() as uow:
        uow.connections.schedule_check(connection_id, clock.now() + delay)
        uow.commit()
    return outcome
