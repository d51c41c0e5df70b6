"""Google, as the services see it: accounts (OAuth), Gmail's send, and the verifier of
Cross-Account Protection (RISC) security events.

gmail_oneclick/adapters/google implements these, against real Google or the bundled sandbox
(the same HTTP code, pointed at the emulator). Messages of the errors never contain tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol

# ---- Google accounts (OAuth) ----------------------------------------------------------------


@dataclass(frozen=True)
class TokenGrant:
    """A token endpoint answer. ``scopes`` is what the user actually granted."""

    access_token: str
    expires_at: datetime
    scopes: frozenset[str]
    refresh_token: str | None = None

    def __repr__(self) -> str:  # never show tokens
        return f"TokenGrant(expires_at={self.expires_at!r}, scopes={sorted(self.scopes)!r})"


@dataclass(frozen=True)
class GoogleIdentity:
    sub: str
    email: str
    email_verified: bool


class UpstreamError(Exception):
    """Base of errors raised by Google adapters. Messages never contain tokens."""


class InvalidGrant(UpstreamError):
    """Google answered ``invalid_grant``: the grant (or code) is dead. The only purge trigger."""


class TransientUpstream(UpstreamError):
    """Timeout, connection error, 5xx or 429: try again later; never purge on it."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamMisconfigured(UpstreamError):
    """``invalid_client`` and friends: our configuration is wrong. Never purge on it."""


class GoogleAccounts(Protocol):
    def authorization_url(
        self, *, state: str, code_challenge: str, login_hint: str | None
    ) -> str:
        """The consent URL with both scopes, offline access, prompt=consent and PKCE S256."""
        ...

    def exchange_code(self, *, code: str, code_verifier: str) -> TokenGrant:
        """Raises InvalidGrant, TransientUpstream or UpstreamMisconfigured."""
        ...

    def refresh(self, refresh_token: str) -> TokenGrant:
        """Raises InvalidGrant (purge), TransientUpstream, UpstreamMisconfigured."""
        ...

    def revoke(self, token: str) -> bool:
        """True when revoked or already dead. Raises TransientUpstream if Google is unreachable."""
        ...

    def userinfo(self, access_token: str) -> GoogleIdentity: ...


# ---- Gmail API (users.messages.send) -------------------------------------------------------


@dataclass(frozen=True)
class GmailSent:
    """Gmail's answer to a send: the message id and its thread id."""

    id: str
    thread_id: str


class GmailUnauthorized(UpstreamError):
    """Gmail answered 401 authError: refresh the access token once and retry once."""


class GmailRejected(UpstreamError):
    """A permanent refusal (400 invalidArgument / failedPrecondition, 403 permission, 413).

    ``reason`` is Google's (``errors[0].reason``); ``status`` its HTTP status. Never retried.
    """

    def __init__(self, message: str, *, status: int, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class GmailRateLimited(TransientUpstream):
    """429 rateLimitExceeded or 403 user/daily limits; ``retry_after`` from Google's answer."""


class GmailDeliveryUnknown(UpstreamError):
    """The request that completes the message went out and no full answer came back (a
    timeout, a dropped connection, a gateway's 502/504, a 2xx without an id): Gmail may have
    sent it. A send is not idempotent at Google, so this is never retried."""


class GmailSender(Protocol):
    def send(self, access_token: str, message: BinaryIO, size: int) -> GmailSent:
        """Send the RFC 5322 bytes of the seekable ``message`` (``size`` bytes, read from 0).

        Raises GmailUnauthorized, GmailRejected, GmailRateLimited, TransientUpstream (only
        when Gmail cannot have accepted the message: connecting failed before the request
        was written, or Gmail answered 500 or 503) or GmailDeliveryUnknown (it may have).
        Does not retry; the caller owns the retry policy.
        """
        ...


# ---- Cross-Account Protection (RISC) -------------------------------------------------------


class InvalidSecurityEvent(ValueError):
    """A pushed Security Event Token that is not acceptable; the message says why (no token)."""


class SecurityEventVerifier(Protocol):
    def verify(self, token: bytes | str, *, now: float | None = None) -> dict[str, Any]:
        """The claims of a Security Event Token Google signed for us, with ``jti`` and
        ``events``; ``now`` in Unix seconds. Raises InvalidSecurityEvent for anything else
        (forged, for another audience, expired, older than the replay window)."""
        ...
