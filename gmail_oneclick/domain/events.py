"""What happened to a connection, recorded in a unit of work and handled before it commits.

A use case records an event (``uow.record(event)``) instead of purging, auditing and queueing
webhooks itself; services.handlers turns each event into those writes in the same transaction.
Events carry ids and what the audit record and the webhook say, never a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gmail_oneclick.domain.model import Connection, RevocationReason


@dataclass(frozen=True)
class ConnectionConnected:
    """A consent stored a connection's tokens (a new connection, or a reconnected one)."""

    connection_id: str
    site_id: str
    email: str = field(repr=False)
    scopes: tuple[str, ...]
    reconnected: bool


@dataclass(frozen=True)
class ConnectionRevoked:
    """The connection's grant is gone (``reason``): its secrets must go and the site be told.

    ``trigger`` says what noticed (``refresh``, ``risc``, ``delete``, ``privacy_forget``) for
    the audit trail; ``email`` is what the webhook names (None when it must not, as after a
    privacy forget).
    """

    connection_id: str
    site_id: str
    reason: RevocationReason
    trigger: str
    email: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, connection: Connection, reason: RevocationReason, *, trigger: str,
           email_in_webhook: bool = True) -> ConnectionRevoked:
        return cls(connection.id, connection.site_id, reason, trigger,
                   connection.email if email_in_webhook else None)


Event = ConnectionConnected | ConnectionRevoked
