"""What the services need from the outside world, as Protocols.

Services import only these, the domain and each other. Adapters (gmail_oneclick/adapters, the
sandbox behind the same HTTP code) implement them; unit tests pass fakes implementing the same.
``from gmail_oneclick.ports import X`` gives every one of them:

- storage: UnitOfWork and its repositories, UowFactory, SecretStore (token_store's secrets);
- google: GoogleAccounts (OAuth), GmailSender, SecurityEventVerifier (RISC) and their errors;
- network: WebhookTransport, OriginFetcher (HTTP to a site's own servers);
- clock: Clock; telemetry: Metrics.
"""

from gmail_oneclick.ports.clock import Clock, SystemClock
from gmail_oneclick.ports.google import (
    GmailDeliveryUnknown,
    GmailRateLimited,
    GmailRejected,
    GmailSender,
    GmailSent,
    GmailUnauthorized,
    GoogleAccounts,
    GoogleIdentity,
    InvalidGrant,
    InvalidSecurityEvent,
    SecurityEventVerifier,
    TokenGrant,
    TransientUpstream,
    UpstreamError,
    UpstreamMisconfigured,
)
from gmail_oneclick.ports.network import Answer, OriginFetcher, WebhookTransport
from gmail_oneclick.ports.storage import (
    AuditRepository,
    ConnectionRepository,
    ConsentRepository,
    IdempotencyRepository,
    LeaseRepository,
    OutboxRepository,
    RateLimitRepository,
    RiscRepository,
    SecretStore,
    SiteRepository,
    UnitOfWork,
    UowFactory,
)
from gmail_oneclick.ports.telemetry import Metrics, RefreshResult

__all__ = [
    "Answer",
    "AuditRepository",
    "Clock",
    "ConnectionRepository",
    "ConsentRepository",
    "GmailDeliveryUnknown",
    "GmailRateLimited",
    "GmailRejected",
    "GmailSender",
    "GmailSent",
    "GmailUnauthorized",
    "GoogleAccounts",
    "GoogleIdentity",
    "IdempotencyRepository",
    "InvalidGrant",
    "InvalidSecurityEvent",
    "LeaseRepository",
    "Metrics",
    "OriginFetcher",
    "OutboxRepository",
    "RateLimitRepository",
    "RefreshResult",
    "RiscRepository",
    "SecretStore",
    "SecurityEventVerifier",
    "SiteRepository",
    "SystemClock",
    "TokenGrant",
    "TransientUpstream",
    "UnitOfWork",
    "UowFactory",
    "UpstreamError",
    "UpstreamMisconfigured",
    "WebhookTransport",
]
