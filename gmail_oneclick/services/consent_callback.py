"""The OAuth callback: state, code exchange, scope check, storage.

No transaction stays open while Google is called: the state is claimed (and its verifier
purged) in one unit of work, Google is asked, and the connection is written in another, all of
it (tokens, and the audit record and webhook event of its ``ConnectionConnected``) in that
one transaction or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from gmail_oneclick.domain.errors import InvalidRequest
from gmail_oneclick.domain.events import ConnectionConnected
from gmail_oneclick.domain.ids import new_id, same_secret, secret_hash
from gmail_oneclick.domain.model import (
    ACCESS_TOKEN,
    GMAIL_SEND,
    REFRESH_TOKEN,
    REQUIRED_SCOPES,
    VERIFIER_PURPOSE,
    Connection,
    Status,
    connection_owner,
)
from gmail_oneclick.ports import (
    Clock,
    GoogleAccounts,
    GoogleIdentity,
    TokenGrant,
    UnitOfWork,
    UowFactory,
    UpstreamError,
)
from gmail_oneclick.services import handlers
from gmail_oneclick.services.consent import (
    START_AGAIN,
    looks_like_secret,
    purge_expired_states,
    result_url,
    state_owner,
)

log = logging.getLogger(__name__)


class Result(StrEnum):
    CONNECTED = "connected"
    ERROR = "error"  # redirect back with a reason
    SCOPE_MISSING = "scope_missing"  # explain, then link back with reason=scope_missing
    UNVERIFIED = "unverified"  # explain, then link back with reason=upstream_error


class StateRejected(InvalidRequest):
    """The state is unknown, used, expired or from another browser: no trusted return URL."""

    def __init__(self, why: str) -> None:
        super().__init__(f"This sign-in {why}. {START_AGAIN}")


@dataclass(frozen=True)
class CallbackOutcome:
    result: Result
    redirect_url: str  # the site's return URL with gmail_oneclick=... (no secret in it)
    site_name: str
    connection_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class _Claimed:
    site_id: str
    site_name: str
    return_url: str
    link_expired: bool
    verifier: str

    def __repr__(self) -> str:
        return f"_Claimed(site_id={self.site_id!r})"

    def outcome(self, result: Result, reason: str | None = None, cid: str | None = None
                ) -> CallbackOutcome:
        """Where the admin goes next: back to the site, told what happened."""
        params = {"gmail_oneclick": "connected", "connection_id": cid} if cid else {
            "gmail_oneclick": "error", "reason": reason}
        return CallbackOutcome(result, result_url(self.return_url, **params), self.site_name,
                               cid, reason)


def _claim_state(
    uow_factory: UowFactory, clock: Clock, state: str, browser_id: str | None
) -> _Claimed:
    if not looks_like_secret(state):
        raise StateRejected("link is not valid")
    state_hash = secret_hash(state)
    with uow_factory() as uow:
        found = uow.consent.get_state(state_hash)
        now = clock.now()
        if found is None:
            raise StateRejected("link is not valid or was already used")
        if found.used_at is not None:
            raise StateRejected("was already completed")
        if found.expires_at <= now:
            purge_expired_states(uow, now)
            uow.commit()
            raise StateRejected("took too long and has expired")
        # A foreign browser does not burn the state: the admin's own tab can still finish.
        if not browser_id or not same_secret(found.browser_hash, secret_hash(browser_id)):
            raise StateRejected("was started in another browser (finish it there)")
        if not uow.consent.use_state(state_hash, now):
            raise StateRejected("was already completed")
        raw = uow.tokens.get(state_owner(state_hash), VERIFIER_PURPOSE)
        uow.tokens.purge(state_owner(state_hash))
        uow.mark_purged()
        link = uow.consent.get_link(found.link_hash)
        site = uow.sites.get(found.site_id)
        uow.commit()
    if raw is None or site is None:
        raise StateRejected("link is not valid")
    return _Claimed(
        site_id=found.site_id,
        site_name=site.name,
        return_url=found.return_url,
        link_expired=link is None or link.expires_at <= now,
        verifier=raw.decode("ascii"),
    )


def finish_consent(
    uow_factory: UowFactory,
    clock: Clock,
    google: GoogleAccounts,
    *,
    state: str | None,
    browser_id: str | None,
    code: str | None,
    error: str | None,
    check_interval: int,
) -> CallbackOutcome:
    """Complete the consent that ``state`` started. Raises StateRejected (a 400 page, since the
    return URL cannot be trusted); every other failure is an outcome pointing back at the site."""
    claimed = _claim_state(uow_factory, clock, state or "", browser_id)
    if error or not code:
        reason = "access_denied" if error == "access_denied" else "upstream_error"
        log.info("consent ended without a code", extra={"site_id": claimed.site_id,
                                                         "reason": reason})
        return claimed.outcome(Result.ERROR, reason)
    try:
        grant = google.exchange_code(code=code, code_verifier=claimed.verifier)
    except UpstreamError as exc:
        reason = "expired" if claimed.link_expired else "upstream_error"
        log.warning("code exchange failed", extra={"site_id": claimed.site_id, "reason": reason,
                                                   "exc_type": type(exc).__name__})
        return claimed.outcome(Result.ERROR, reason)
    return _connect(uow_factory, clock, google, claimed, grant, check_interval)


def _connect(uow_factory: UowFactory, clock: Clock, google: GoogleAccounts, claimed: _Claimed,
             grant: TokenGrant, check_interval: int) -> CallbackOutcome:
    """Store the connection ``grant`` makes, unless it lacks a scope, an identity or a refresh
    token: then it is revoked at Google and the site is told why."""
    identity = _identity(google, grant)
    refused = _refusal(claimed.site_id, grant, identity)
    if refused is not None:
        _drop_grant(uow_factory, google, grant, identity)
        return claimed.outcome(refused[0], refused[1])
    assert identity is not None  # _refusal refused a grant without one
    with uow_factory() as uow:
        site_still_there = uow.sites.get(claimed.site_id) is not None
        if site_still_there:
            cid = _store_connection(uow, clock, claimed.site_id, identity, grant, check_interval)
            handlers.commit(uow, clock)
    if not site_still_there:  # removed by the operator while the admin was at Google
        _drop_grant(uow_factory, google, grant, identity)
        raise StateRejected("belongs to a site that no longer exists")
    log.info("connection connected", extra={"site_id": claimed.site_id, "connection_id": cid})
    return claimed.outcome(Result.CONNECTED, cid=cid)


def _refusal(site_id: str, grant: TokenGrant, identity: GoogleIdentity | None
             ) -> tuple[Result, str] | None:
    """Why a grant cannot become a connection, or None when it can."""
    if not grant.scopes >= REQUIRED_SCOPES:
        log.info("consent without every scope", extra={
            "site_id": site_id, "gmail_send": GMAIL_SEND in grant.scopes})
        return Result.SCOPE_MISSING, "scope_missing"
    if identity is None or grant.refresh_token is None:
        return Result.ERROR, "upstream_error"
    if not identity.email_verified or not identity.email:
        return Result.UNVERIFIED, "upstream_error"
    return None


def _identity(google: GoogleAccounts, grant: TokenGrant) -> GoogleIdentity | None:
    try:
        return google.userinfo(grant.access_token)
    except UpstreamError as exc:
        log.warning("userinfo failed", extra={"exc_type": type(exc).__name__})
        return None


def _drop_grant(
    uow_factory: UowFactory,
    google: GoogleAccounts,
    grant: TokenGrant,
    identity: GoogleIdentity | None,
) -> None:
    """Revoke a grant we will not keep, unless a live connection of the same Google account
    shares it (revoking any token ends the account's whole grant for our client)."""
    if identity is None:
        log.warning("unused grant not revoked: its Google account is unknown")
        return
    with uow_factory() as uow:
        shared = uow.connections.count_live_sharing_grant(identity.sub, excluding="")
    if shared:
        log.info("unused grant not revoked: the account has live connections",
                 extra={"count": shared})
        return
    try:
        google.revoke(grant.refresh_token or grant.access_token)
    except UpstreamError as exc:
        log.warning("revoking an unused grant failed", extra={"exc_type": type(exc).__name__})


def _store_connection(
    uow: UnitOfWork,
    clock: Clock,
    site_id: str,
    identity: GoogleIdentity,
    grant: TokenGrant,
    check_interval: int,
) -> str:
    """Insert the connection, or update the site's connection of the same Google account
    (same id, new tokens, no revoke: the old refresh token belongs to the same grant)."""
    assert grant.refresh_token is not None
    now = clock.now()
    existing = uow.connections.find_by_site_and_sub(site_id, identity.sub)
    next_check = now + timedelta(seconds=check_interval)
    if existing is not None:
        cid = existing.id
        uow.connections.update(
            cid, email=identity.email, status=Status.CONNECTED, scopes=grant.scopes,
            revoked_at=None, revocation_reason=None, updated_at=now, last_verified_at=now,
            access_token_expires_at=grant.expires_at, next_check_at=next_check,
        )
    else:
        cid = new_id("conn")
        uow.connections.add(Connection(
            id=cid, site_id=site_id, google_sub=identity.sub, email=identity.email,
            status=Status.CONNECTED, scopes=grant.scopes, created_at=now, last_verified_at=now,
            revoked_at=None, revocation_reason=None, access_token_expires_at=grant.expires_at,
            next_check_at=next_check,
        ))
    owner = connection_owner(cid)
    uow.tokens.put(owner, REFRESH_TOKEN, grant.refresh_token.encode("utf-8"))
    uow.tokens.put(owner, ACCESS_TOKEN, grant.access_token.encode("utf-8"))
    uow.tokens.index_refresh_token(owner, grant.refresh_token)
    uow.record(ConnectionConnected(cid, site_id, identity.email, tuple(sorted(grant.scopes)),
                                   reconnected=existing is not None))
    return cid
