"""The application's tables (SQLAlchemy Core) and the engine.

token_store keeps its own tables (token_store.sql.metadata); both are created by the same
Alembic history in migrations/ beside this module. Secrets never live in these tables: they are in
token_store, keyed by owner strings such as ``connection:<id>`` and ``site:<id>``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

TS = DateTime(timezone=True)

sites = Table(
    "sites",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("origins", JSON, nullable=False),  # list of "scheme://host[:port]"
    Column("webhook_url", Text, nullable=True),
    Column("api_key_hash", String(64), nullable=False, unique=True),  # sha256 hex of the key
    Column("created_at", TS, nullable=False),
    Column("key_rotated_at", TS, nullable=True),
    # Null while a self-registered site has not proved it controls its origins (open
    # registration); sites added by the operator are verified when added.
    Column("verified_at", TS, nullable=True),
    Column("verification_token_hash", String(64), nullable=True),  # sha256 hex; null once verified
)

connections = Table(
    "connections",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("site_id", String(40), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("google_sub", String(255), nullable=True),  # null after privacy forget
    Column("email", String(320), nullable=True),  # null after privacy forget
    Column("status", String(32), nullable=False),  # connected | reconnect_required | forgotten
    Column("scopes", Text, nullable=False, default=""),  # space separated, as granted
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("last_verified_at", TS, nullable=True),
    Column("next_check_at", TS, nullable=True),
    Column("revoked_at", TS, nullable=True),
    Column("revocation_reason", String(40), nullable=True),
    Column("access_token_expires_at", TS, nullable=True),
    # Lease held by one checker or one refreshing request so no two processes refresh at once.
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", TS, nullable=True),
    Column("token_version", Integer, nullable=False, default=0),
    UniqueConstraint("site_id", "google_sub", name="uq_connections_site_sub"),
    Index("ix_connections_google_sub", "google_sub"),
    Index("ix_connections_next_check", "status", "next_check_at"),
)

connect_links = Table(
    "connect_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the link token
    Column("site_id", String(40), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("return_url", Text, nullable=False),
    Column("login_hint", String(320), nullable=True),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("used_at", TS, nullable=True),
    Index("ix_connect_links_expires", "expires_at"),  # expiry deletes on each new link
)

oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),  # sha256 hex of the state value
    Column("link_hash", String(64), nullable=False),
    Column("site_id", String(40), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("return_url", Text, nullable=False),
    Column("browser_hash", String(64), nullable=False),  # sha256 hex of the browser cookie
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("used_at", TS, nullable=True),
    # The PKCE code_verifier is a secret: it lives in token_store under owner "state:<hash>".
    Index("ix_oauth_states_expires", "expires_at"),  # expiry deletes on each consent
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("type", String(64), nullable=False),  # e.g. "connection:revoked", "message:sent"
    Column("site_id", String(40), nullable=True),
    Column("connection_id", String(40), nullable=True),
    Column("data", JSON, nullable=False, default=dict),  # minimal metadata, never content
    Index("ix_audit_connection", "connection_id", "at"),
    Index("ix_audit_at", "at"),  # the checker's retention prune
)

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", String(40), primary_key=True),  # "msg_..." Standard Webhooks message id
    Column("site_id", String(40), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("next_attempt_at", TS, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("delivered_at", TS, nullable=True),
    Column("failed_at", TS, nullable=True),  # gave up after a day
    Column("last_status", Integer, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", TS, nullable=True),
    # The connection the event is about (also in the payload), so privacy forget finds the
    # events to scrub by index instead of reading every payload.
    Column("connection_id", String(40), nullable=True),
    Index("ix_outbox_due", "delivered_at", "failed_at", "next_attempt_at"),
    Index("ix_outbox_connection", "connection_id"),
    Index("ix_outbox_created", "created_at"),  # the checker's retention prune
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("site_id", String(40), ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("key_hash", String(64), primary_key=True),  # sha256 hex of the Idempotency-Key
    Column("created_at", TS, nullable=False),
    Column("state", String(16), nullable=False),  # pending | done | unknown
    Column("connection_id", String(40), nullable=True),
    Column("gmail_id", String(64), nullable=True),
    Column("thread_id", String(64), nullable=True),
    # sha256 of the raw message, to spot an Idempotency-Key reused for another message
    Column("request_hash", String(64), nullable=True),
    # a pending record past this instant belongs to a send that died: delivery unknown
    Column("lease_until", TS, nullable=True),
    Index("ix_idempotency_created", "created_at"),  # the checker's retention prune
)

risc_events = Table(
    "risc_events",
    metadata,
    Column("jti", String(255), primary_key=True),
    Column("received_at", TS, nullable=False),
    Column("types", JSON, nullable=False),
)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("bucket", String(128), primary_key=True),
    Column("window_start", TS, nullable=False),
    Column("count", Integer, nullable=False),
)

# One row, written by the first `db upgrade`: whether this database belongs to the bundled Google
# sandbox or to a real Google client. Either mode refuses the other's database (db_mode.py).
deployment = Table(
    "deployment",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("google_mode", String(16), nullable=False),  # sandbox | google
    Column("created_at", TS, nullable=False),
    CheckConstraint("id = 1", name="ck_deployment_one_row"),
)


def all_metadata() -> list[MetaData]:
    """Every MetaData the migrations manage: the application's and token_store's."""
    from token_store import metadata as token_metadata

    return [metadata, token_metadata]


def make_engine(url: str) -> Engine:
    """The one engine factory: token_store's, which sets SQLite's WAL and secure_delete."""
    from token_store import make_engine as ts_make_engine

    return ts_make_engine(url)
