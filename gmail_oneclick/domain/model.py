"""Domain records: plain Python, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"
USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
# The scopes the consent link asks for, in the order Google shows them.
REQUESTED_SCOPES = (GMAIL_SEND, USERINFO_EMAIL)
REQUIRED_SCOPES = frozenset(REQUESTED_SCOPES)


class Status(StrEnum):
    CONNECTED = "connected"
    RECONNECT_REQUIRED = "reconnect_required"


class RevocationReason(StrEnum):
    INVALID_GRANT = "invalid_grant"
    RISC_TOKENS_REVOKED = "risc_tokens_revoked"
    RISC_TOKEN_REVOKED = "risc_token_revoked"
    RISC_ACCOUNT_DISABLED = "risc_account_disabled"
    DISCONNECTED = "disconnected"
    FORGOTTEN = "forgotten"


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(value: datetime | None) -> str | None:
    """RFC 3339 UTC with a Z suffix, seconds precision; None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite returns naive datetimes; we only ever store UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def aware(value: datetime | None) -> datetime | None:
    """Make a datetime read back from SQLite timezone-aware (UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def connection_owner(connection_id: str) -> str:
    """token_store owner key of a connection's secrets."""
    return f"connection:{connection_id}"


def site_owner(site_id: str) -> str:
    return f"site:{site_id}"


# token_store purposes: which secret of an owner (connection, site, consent state) a value is.
ACCESS_TOKEN = "access_token"
REFRESH_TOKEN = "refresh_token"
WEBHOOK_SECRET_PURPOSE = "webhook_secret"
VERIFIER_PURPOSE = "code_verifier"


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    origins: tuple[str, ...]
    webhook_url: str | None
    created_at: datetime
    # None while a self-registered site has not proved it controls its origins.
    verified_at: datetime | None = None

    def to_public(self) -> dict[str, object]:
        return {
            "site_id": self.id,
            "name": self.name,
            "origins": list(self.origins),
            "webhook_url": self.webhook_url,
            "created_at": rfc3339(self.created_at),
            "verified_at": rfc3339(self.verified_at),
        }


@dataclass(frozen=True)
class Connection:
    id: str
    site_id: str
    google_sub: str | None
    email: str | None
    status: Status
    scopes: frozenset[str]
    created_at: datetime
    last_verified_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str | None
    access_token_expires_at: datetime | None = None
    next_check_at: datetime | None = None

    def to_public(self) -> dict[str, object]:
        """The Connection object of the API (README, API)."""
        return {
            "id": self.id,
            "email": self.email,
            "status": self.status.value,
            "scopes": sorted(self.scopes),
            "created_at": rfc3339(self.created_at),
            "last_verified_at": rfc3339(self.last_verified_at),
            "revoked_at": rfc3339(self.revoked_at),
            "revocation_reason": self.revocation_reason,
        }
