"""The checker's verification of many connections at once, with its bookkeeping batched.

``verify_connection`` (services.revocation) verifies one connection in three transactions of
its own. A sweep verifying hundreds per second would spend most of its time, and on SQLite most
of the single writer's time, on those. Here a batch goes through two steps instead:

- ``refresh``: the call to Google, one per connection, no database (run by the caller's
  workers, as many at once as it likes).
- ``settle``: one transaction stores a group of results (new access tokens, each next check)
  and gives their leases back, and takes the refresh leases (services.tokens) of the next
  connections to refresh, as many as workers are free, with one compare-and-set UPDATE
  (``take_leases``). So a lease is held only while its refresh runs or waits a moment to be
  recorded. A connection whose lease someone else holds (a send refreshing it now) is skipped:
  a connection is never refreshed twice at once, in any process. ``invalid_grant`` purges, one
  transaction each (rare); a timeout, 5xx, 429 or a refused client only postpones.

The caller keeps the leases alive while refreshes run (services.heartbeat.keep_leases).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from gmail_oneclick.domain.model import ACCESS_TOKEN, REFRESH_TOKEN, connection_owner
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
from gmail_oneclick.services import revocation, telemetry, tokens

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Leased:
    """A connection whose refresh lease this checker holds, with its refresh token."""

    connection_id: str
    refresh_token: bytes


@dataclass(frozen=True)
class Refreshed:
    """What Google answered for one connection: a revocation.CHECK_* outcome, the grant when
    it is CHECK_OK and Google's Retry-After when it said one."""

    connection_id: str
    outcome: str
    grant: TokenGrant | None = None
    retry_after: int | None = None


def take_leases(uow: UnitOfWork, now: datetime, connection_ids: list[str], *,
                lease_owner: str) -> tuple[list[Leased], Counter[str]]:
    """Take the refresh leases of ``connection_ids`` in the caller's transaction, with one
    compare-and-set statement.

    Returns the connections to refresh and the outcomes of the others, already settled: a
    connection leased elsewhere is CHECK_SKIPPED and checked again in about a minute, one no
    longer connected (or without a refresh token) CHECK_SKIPPED.
    """
    won = set(uow.leases.acquire_many(connection_ids, lease_owner, now,
                                      now + timedelta(seconds=tokens.LEASE_SECONDS)))
    leased, missing = [], []
    for cid in connection_ids:
        raw = uow.tokens.get(connection_owner(cid), REFRESH_TOKEN) if cid in won else None
        if raw is not None:
            leased.append(Leased(cid, raw))
        elif cid in won:
            missing.append(cid)
    uow.leases.release_many(missing, lease_owner)
    busy = [cid for cid in connection_ids if cid not in won]
    # Connected but leased elsewhere: that holder is refreshing it, which verifies it too.
    uow.connections.record_checks([
        {"id": cid, "next_check_at": now + revocation.retry_after(revocation.CHECK_SKIPPED)}
        for cid in busy])
    return leased, Counter({revocation.CHECK_SKIPPED: len(busy) + len(missing)})


def refresh(google: GoogleAccounts, leased: Leased) -> Refreshed:
    """One refresh at Google, classified; no database, never raises for Google's answers."""
    cid = leased.connection_id
    try:
        grant = google.refresh(leased.refresh_token.decode())
    except InvalidGrant:
        telemetry.metrics().count_refresh("invalid_grant")
        return Refreshed(cid, revocation.CHECK_REVOKED)
    except TransientUpstream as exc:
        telemetry.count_refresh_error(exc)
        return Refreshed(cid, revocation.CHECK_TRANSIENT, retry_after=exc.retry_after)
    except UpstreamMisconfigured as exc:
        telemetry.count_refresh_error(exc)
        return Refreshed(cid, revocation.CHECK_ERROR)
    except Exception as exc:  # one broken connection must not end the sweep
        telemetry.count_refresh_error(exc)
        log.error("check failed", extra={"connection_id": cid, "error": type(exc).__name__})
        return Refreshed(cid, revocation.CHECK_ERROR)
    telemetry.metrics().count_refresh("ok")
    return Refreshed(cid, revocation.CHECK_OK, grant=grant)


def settle(uow_factory: UowFactory, clock: Clock, results: list[Refreshed],
           next_ids: list[str], *, lease_owner: str,
           interval: int) -> tuple[Counter[str], list[Leased]]:
    """One transaction: store ``results`` (their leases given back) and take the leases of
    ``next_ids``, the connections to refresh next. Purges follow, one transaction each.

    Returns the outcomes counted (a connection purged while it was being refreshed stores
    nothing and counts as revoked) and the connections now leased.
    """
    revoked = [r.connection_id for r in results if r.outcome == revocation.CHECK_REVOKED]
    rest = [r for r in results if r.outcome != revocation.CHECK_REVOKED]
    with uow_factory() as uow:
        now = clock.now()
        counts = _record(uow, now, rest, lease_owner=lease_owner, interval=interval)
        leased, settled = take_leases(uow, now, next_ids, lease_owner=lease_owner)
        uow.commit()
    counts.update(settled)
    for cid in revoked:
        tokens.report_invalid_grant(uow_factory, clock, cid)
        counts[revocation.CHECK_REVOKED] += 1
    return counts, leased


def _record(uow: UnitOfWork, now: datetime, results: list[Refreshed], *, lease_owner: str,
            interval: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    if not results:
        return counts
    live = uow.connections.lock_connected([r.connection_id for r in results])
    verified, postponed = [], []
    for r in results:
        if r.connection_id not in live:
            counts[revocation.CHECK_REVOKED] += 1
            continue
        counts[r.outcome] += 1
        if r.grant is not None:
            _store(uow, r.connection_id, r.grant)
            verified.append({
                "id": r.connection_id, "access_token_expires_at": r.grant.expires_at,
                "last_verified_at": now, "updated_at": now,
                "next_check_at": now + revocation.next_check_after(interval)})
        else:
            postponed.append({"id": r.connection_id, "next_check_at": now +
                              revocation.retry_after(r.outcome, r.retry_after)})
    uow.connections.record_checks(verified)
    uow.connections.record_checks(postponed)
    uow.leases.release_many([r.connection_id for r in results], lease_owner)
    return counts


def _store(uow: UnitOfWork, connection_id: str, grant: TokenGrant) -> None:
    """The new access token, and the refresh token when Google rotated it."""
    key = connection_owner(connection_id)
    uow.tokens.put(key, ACCESS_TOKEN, grant.access_token.encode())
    if grant.refresh_token:
        uow.tokens.put(key, REFRESH_TOKEN, grant.refresh_token.encode())
        uow.tokens.index_refresh_token(key, grant.refresh_token)
