"""Connections: one Google account connected to one site. Tokens live in token_store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection as SqlConnection
from sqlalchemy import bindparam, delete, func, insert, or_, select, update

from gmail_oneclick.adapters.storage.claims import claim_rows
from gmail_oneclick.adapters.storage.tables import audit_events, connect_links, connections
from gmail_oneclick.domain.model import Connection, Status, aware

# The send path's reads, built once: SQLAlchemy then reuses their compiled form and cache key.
_GET = select(connections).where(connections.c.id == bindparam("id"))
_GET_FOR_SITE = select(connections).where(
    connections.c.id == bindparam("id"), connections.c.site_id == bindparam("site_id"))
_LIST_FOR_SITE = (
    select(connections).where(connections.c.site_id == bindparam("site_id"))
    .order_by(connections.c.created_at, connections.c.id)
)


def _connection(row: Any) -> Connection:
    return Connection(
        id=row.id,
        site_id=row.site_id,
        google_sub=row.google_sub,
        email=row.email,
        status=Status(row.status),
        scopes=frozenset(row.scopes.split()) if row.scopes else frozenset(),
        created_at=aware(row.created_at),  # type: ignore[arg-type]
        last_verified_at=aware(row.last_verified_at),
        revoked_at=aware(row.revoked_at),
        revocation_reason=row.revocation_reason,
        access_token_expires_at=aware(row.access_token_expires_at),
        next_check_at=aware(row.next_check_at),
    )


class ConnectionRepository:
    def __init__(self, conn: SqlConnection) -> None:
        self.conn = conn

    def add(self, c: Connection) -> None:
        self.conn.execute(
            insert(connections).values(
                id=c.id,
                site_id=c.site_id,
                google_sub=c.google_sub,
                email=c.email,
                status=c.status.value,
                scopes=" ".join(sorted(c.scopes)),
                created_at=c.created_at,
                updated_at=c.created_at,
                last_verified_at=c.last_verified_at,
                next_check_at=c.next_check_at,
                access_token_expires_at=c.access_token_expires_at,
                token_version=0,
            )
        )

    def get(self, connection_id: str, *, for_update: bool = False) -> Connection | None:
        query = _GET.with_for_update() if for_update else _GET
        row = self.conn.execute(query, {"id": connection_id}).first()
        return _connection(row) if row else None

    def get_for_site(self, site_id: str, connection_id: str) -> Connection | None:
        row = self.conn.execute(_GET_FOR_SITE, {"id": connection_id, "site_id": site_id}).first()
        return _connection(row) if row else None

    def list_for_site(self, site_id: str) -> list[Connection]:
        rows = self.conn.execute(_LIST_FOR_SITE, {"site_id": site_id})
        return [_connection(r) for r in rows]

    def find_by_site_and_sub(self, site_id: str, sub: str) -> Connection | None:
        row = self.conn.execute(
            select(connections).where(
                connections.c.site_id == site_id, connections.c.google_sub == sub
            )
        ).first()
        return _connection(row) if row else None

    def list_by_sub(self, sub: str) -> list[Connection]:
        rows = self.conn.execute(select(connections).where(connections.c.google_sub == sub))
        return [_connection(r) for r in rows]

    def list_by_email(self, email: str) -> list[Connection]:
        rows = self.conn.execute(
            select(connections).where(func.lower(connections.c.email) == email.lower())
        )
        return [_connection(r) for r in rows]

    def count_live_sharing_grant(self, sub: str, *, excluding: str) -> int:
        """Other connected connections of the same Google account (they share one grant)."""
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(connections)
                .where(
                    connections.c.google_sub == sub,
                    connections.c.id != excluding,
                    connections.c.status == Status.CONNECTED.value,
                )
            ).scalar_one()
        )

    def update(self, connection_id: str, **values: Any) -> bool:
        """Set columns of one row (scopes given as a set are stored space separated)."""
        if "scopes" in values and not isinstance(values["scopes"], str):
            values["scopes"] = " ".join(sorted(values["scopes"]))
        if "status" in values:
            values["status"] = Status(values["status"]).value
        result = self.conn.execute(
            update(connections).where(connections.c.id == connection_id).values(**values)
        )
        return result.rowcount == 1

    def mark_reconnect_required(self, connection_id: str, reason: str, at: datetime) -> bool:
        """Status change of a purge; only the first revocation's reason and time are kept."""
        result = self.conn.execute(
            update(connections)
            .where(
                connections.c.id == connection_id,
                connections.c.status == Status.CONNECTED.value,
            )
            .values(
                status=Status.RECONNECT_REQUIRED.value,
                revoked_at=at,
                revocation_reason=reason,
                updated_at=at,
                access_token_expires_at=None,
                lease_owner=None,
                lease_until=None,
                next_check_at=None,
            )
        )
        return result.rowcount == 1

    def delete(self, connection_id: str) -> bool:
        result = self.conn.execute(delete(connections).where(connections.c.id == connection_id))
        return result.rowcount == 1

    # ---- used by the revocation checker and privacy (additive, issue 5) -------------------

    def claim_due_for_check(
        self, now: datetime, *, limit: int, hold_until: datetime
    ) -> list[str]:
        """Ids of up to ``limit`` connected connections due for a check, oldest-verified first,
        claimed by moving their ``next_check_at`` to ``hold_until``. The caller commits at once.

        Claiming moves the schedule rather than taking the refresh lease, so the refresh itself
        can still take its lease. ``hold_until`` is short and the sweep renews it
        (``renew_claims``) while it works, so a dead checker's claims come back soon.
        ``SKIP LOCKED`` (PostgreSQL) and the compare-and-set keep two checkers from claiming
        one connection.
        """
        t = connections.c
        due = (t.status == Status.CONNECTED.value) & or_(
            t.next_check_at.is_(None), t.next_check_at <= now
        )
        query = (
            select(t.id).where(due)
            .order_by(t.last_verified_at.asc().nulls_first(), t.created_at, t.id)
            .limit(limit)
        )
        hold = {"next_check_at": hold_until}
        return [row.id for row in claim_rows(self.conn, connections, query, due, hold)]

    def next_check_at(self, now: datetime) -> datetime | None:
        """When the checker next has a connection to verify: ``now`` when one is unscheduled,
        None when no connection is connected."""
        t = connections.c
        connected = t.status == Status.CONNECTED.value
        unscheduled = self.conn.execute(
            select(t.id).where(connected, t.next_check_at.is_(None)).limit(1)).first()
        if unscheduled is not None:
            return now
        return aware(self.conn.execute(
            select(func.min(t.next_check_at)).where(connected)).scalar_one())

    def renew_claims(self, connection_ids: list[str], held_until: datetime,
                     until: datetime) -> int:
        """Extend a sweep's claims still pending: those of ``connection_ids`` whose
        ``next_check_at`` is still exactly its claim ``held_until`` (a verified one was
        rescheduled, a lapsed one re-claimed by another checker with its own hold). Returns how
        many were extended; the caller commits."""
        t = connections.c
        result = self.conn.execute(
            update(connections)
            .where(t.id.in_(connection_ids), t.next_check_at == held_until,
                   t.status == Status.CONNECTED.value)
            .values(next_check_at=until)
        )
        return int(result.rowcount)

    def lock_connected(self, connection_ids: list[str]) -> set[str]:
        """Which of ``connection_ids`` are connected; their rows stay locked until commit on
        PostgreSQL (SQLite's IMMEDIATE transaction already excludes every other writer)."""
        if not connection_ids:
            return set()
        t = connections.c
        query = select(t.id).where(t.id.in_(connection_ids),
                                   t.status == Status.CONNECTED.value)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return {row.id for row in self.conn.execute(query)}

    def record_checks(self, checks: list[dict[str, Any]]) -> None:
        """Set each entry's columns on the row its ``id`` names, while connected: one
        executemany for a sweep's results (every entry must name the same columns)."""
        if not checks:
            return
        t = connections.c
        columns = [name for name in checks[0] if name != "id"]
        statement = (
            update(connections)
            .where(t.id == bindparam("row_id"), t.status == Status.CONNECTED.value)
            .values({name: bindparam("v_" + name) for name in columns})
        )
        self.conn.execute(statement, [
            {"row_id": c["id"], **{"v_" + name: c[name] for name in columns}} for c in checks])

    def schedule_check(self, connection_id: str, at: datetime) -> bool:
        """Set when the checker next verifies this connection (only while connected)."""
        result = self.conn.execute(
            update(connections)
            .where(connections.c.id == connection_id,
                   connections.c.status == Status.CONNECTED.value)
            .values(next_check_at=at)
        )
        return result.rowcount == 1

    def list_by_subs(self, subs: list[str]) -> list[Connection]:
        if not subs:
            return []
        rows = self.conn.execute(select(connections).where(connections.c.google_sub.in_(subs)))
        return [_connection(r) for r in rows]

    def forget(self, connection_ids: list[str], email: str) -> int:
        """Privacy forget: delete these connection rows, keep only ``type`` and the connection id
        (with time and site) of their audit events, and drop connect links naming ``email``."""
        if not connection_ids:
            deleted = 0
        else:
            self.conn.execute(
                update(audit_events).where(audit_events.c.connection_id.in_(connection_ids))
                .values(data={})
            )
            deleted = self.conn.execute(
                delete(connections).where(connections.c.id.in_(connection_ids))
            ).rowcount
        self.conn.execute(
            delete(connect_links).where(func.lower(connect_links.c.login_hint) == email.lower())
        )
        return int(deleted)
