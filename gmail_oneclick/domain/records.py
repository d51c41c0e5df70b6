"""Records the storage keeps for the services: connect links, OAuth states, Idempotency-Key
records and queued webhook events. Plain values, so services and adapters share them without
either importing the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ConnectLink:
    """A connect link, keyed by the SHA-256 of its secret (never the secret)."""

    token_hash: str
    site_id: str
    return_url: str
    login_hint: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True)
class OAuthState:
    """An OAuth ``state`` in flight, keyed by its hash; bound to one browser by ``browser_hash``."""

    state_hash: str
    link_hash: str
    site_id: str
    return_url: str
    browser_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


# The states of an Idempotency-Key record (see services.send_keys).
PENDING = "pending"
DONE = "done"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class IdempotencyRecord:
    """What is kept of a send's Idempotency-Key: hashes and Gmail ids, never the key itself."""

    state: str
    created_at: datetime
    request_hash: str | None
    connection_id: str | None
    gmail_id: str | None
    thread_id: str | None
    lease_until: datetime | None = None


@dataclass(frozen=True)
class OutboxEvent:
    """A webhook event queued for a site, as a deliverer leased it."""

    id: str
    site_id: str
    type: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
