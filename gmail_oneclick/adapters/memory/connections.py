"""Connections and their refresh leases in memory: the SQL repositories' methods and answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from gmail_oneclick.adapters.memory.state import IntegrityError, Row, Tables
from gmail_oneclick.domain.model import Connection, Status

_COLUMNS = frozenset({
    "site_id", "google_sub", "email", "status", "scopes", "created_at", "updated_at",
    "last_verified_at", "next_check_at", "revoked_at", "revocation_reason",
    "access_token_expires_at", "lease_owner", "lease_until", "token_version",
})


def _connection(row: Row) -> Connection:
    return Connection(
        id=row["id"], site_id=row["site_id"], google_sub=row["google_sub"], email=row["email"],
        status=Status(row["status"]), scopes=frozenset(row["scopes"]),
        created_at=row["created_at"], last_verified_at=row["last_verified_at"],
        revoked_at=row["revoked_at"], revocation_reason=row["revocation_reason"],
        access_token_expires_at=row["access_token_expires_at"],
        next_check_at=row["next_check_at"],
    )


def _connected(row: Row) -> bool:
    return bool(row["status"] == Status.CONNECTED.value)


class ConnectionRepository:
    def __init__(self, tables: Callable[[], Tables]) -> None:
        self._tables = tables

    @property
    def _rows(self) -> dict[str, Row]:
        return self._tables().connections

    def _where(self, keep: Callable[[Row], bool]) -> list[Connection]:
        return [_connection(r) for r in self._rows.values() if keep(r)]

    def add(self, c: Connection) -> None:
        tables = self._tables()
        same_account = c.google_sub is not None and any(
            r["site_id"] == c.site_id and r["google_sub"] == c.google_sub
            for r in self._rows.values())
        if c.id in self._rows or c.site_id not in tables.sites or same_account:
            raise IntegrityError(f"connection {c.id!r} breaks a constraint")
        self._rows[c.id] = {
            "id": c.id, "site_id": c.site_id, "google_sub": c.google_sub, "email": c.email,
            "status": c.status.value, "scopes": frozenset(c.scopes), "created_at": c.created_at,
            "updated_at": c.created_at, "last_verified_at": c.last_verified_at,
            "next_check_at": c.next_check_at, "revoked_at": c.revoked_at,
            "revocation_reason": c.revocation_reason,
            "access_token_expires_at": c.access_token_expires_at,
            "lease_owner": None, "lease_until": None, "token_version": 0,
        }

    def get(self, connection_id: str, *, for_update: bool = False) -> Connection | None:
        row = self._rows.get(connection_id)
        return _connection(row) if row else None

    def get_for_site(self, site_id: str, connection_id: str) -> Connection | None:
        row = self._rows.get(connection_id)
        return _connection(row) if row and row["site_id"] == site_id else None

    def list_for_site(self, site_id: str) -> list[Connection]:
        found = self._where(lambda r: r["site_id"] == site_id)
        return sorted(found, key=lambda c: (c.created_at, c.id))

    def find_by_site_and_sub(self, site_id: str, sub: str) -> Connection | None:
        found = self._where(lambda r: r["site_id"] == site_id and r["google_sub"] == sub)
        return found[0] if found else None

    def list_by_sub(self, sub: str) -> list[Connection]:
        return self._where(lambda r: r["google_sub"] == sub)

    def list_by_email(self, email: str) -> list[Connection]:
        wanted = email.lower()
        return self._where(lambda r: r["email"] is not None and r["email"].lower() == wanted)

    def count_live_sharing_grant(self, sub: str, *, excluding: str) -> int:
        """Other connected connections of the same Google account (they share one grant)."""
        return len(self._where(lambda r: r["google_sub"] == sub and r["id"] != excluding
                               and _connected(r)))

    def update(self, connection_id: str, **values: Any) -> bool:
        """Set columns of one row; an unknown column is an error, as in SQL."""
        unknown = set(values) - _COLUMNS
        if unknown:
            raise KeyError(f"no such columns: {sorted(unknown)}")
        if "scopes" in values:
            scopes = values["scopes"]
            values["scopes"] = frozenset(scopes.split() if isinstance(scopes, str) else scopes)
        if "status" in values:
            values["status"] = Status(values["status"]).value
        row = self._rows.get(connection_id)
        if row is None:
            return False
        row.update(values)
        return True

    def mark_reconnect_required(self, connection_id: str, reason: str, at: datetime) -> bool:
        """Status change of a purge; only the first revocation's reason and time are kept."""
        row = self._rows.get(connection_id)
        if row is None or not _connected(row):
            return False
        row.update(status=Status.RECONNECT_REQUIRED.value, revoked_at=at,
                   revocation_reason=reason, updated_at=at, access_token_expires_at=None,
                   lease_owner=None, lease_until=None, next_check_at=None)
        return True

    def delete(self, connection_id: str) -> bool:
        return self._rows.pop(connection_id, None) is not None

    def claim_due_for_check(
        self, now: datetime, *, limit: int, hold_until: datetime
    ) -> list[str]:
        """Up to ``limit`` due connections, oldest-verified first, held until ``hold_until``."""
        due = [r for r in self._rows.values() if _due_for_check(r, now)]
        due.sort(key=lambda r: (r["last_verified_at"] is not None,
                                r["last_verified_at"] or r["created_at"], r["created_at"],
                                r["id"]))
        for row in due[:limit]:
            row["next_check_at"] = hold_until
        return [r["id"] for r in due[:limit]]

    def next_check_at(self, now: datetime) -> datetime | None:
        """When the checker next has a connection to verify: ``now`` when one is unscheduled,
        None when no connection is connected."""
        times = [r["next_check_at"] or now for r in self._rows.values() if _connected(r)]
        return min(times, default=None)

    def renew_claims(self, connection_ids: list[str], held_until: datetime,
                     until: datetime) -> int:
        """Extend the claims still exactly ``held_until``; returns how many."""
        renewed = 0
        for connection_id in set(connection_ids):
            row = self._rows.get(connection_id)
            if row and _connected(row) and row["next_check_at"] == held_until:
                row["next_check_at"] = until
                renewed += 1
        return renewed

    def schedule_check(self, connection_id: str, at: datetime) -> bool:
        row = self._rows.get(connection_id)
        if row is None or not _connected(row):
            return False
        row["next_check_at"] = at
        return True

    def lock_connected(self, connection_ids: list[str]) -> set[str]:
        return {cid for cid in connection_ids
                if (row := self._rows.get(cid)) is not None and _connected(row)}

    def record_checks(self, checks: list[dict[str, Any]]) -> None:
        for check in checks:
            row = self._rows.get(check["id"])
            if row is not None and _connected(row):
                row.update({k: v for k, v in check.items() if k != "id"})

    def list_by_subs(self, subs: list[str]) -> list[Connection]:
        wanted = set(subs)
        return self._where(lambda r: r["google_sub"] in wanted)

    def forget(self, connection_ids: list[str], email: str) -> int:
        """Delete these rows, blank their audit events' data, drop links naming ``email``."""
        tables = self._tables()
        doomed = set(connection_ids)
        for event in tables.audit_events:
            if event["connection_id"] in doomed:
                event["data"] = {}
        deleted = sum(self._rows.pop(i, None) is not None for i in doomed)
        wanted = email.lower()
        for key, link in list(tables.connect_links.items()):
            if link["login_hint"] is not None and link["login_hint"].lower() == wanted:
                del tables.connect_links[key]
        return deleted


def _due_for_check(row: Row, now: datetime) -> bool:
    return _connected(row) and (row["next_check_at"] is None or row["next_check_at"] <= now)


class LeaseRepository:
    """The refresh lease (``lease_owner``/``lease_until`` of the connection row)."""

    def __init__(self, tables: Callable[[], Tables]) -> None:
        self._tables = tables

    def _row(self, connection_id: str) -> Row | None:
        return self._tables().connections.get(connection_id)

    def acquire(self, connection_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take (or extend) a connected connection's lease; False when another owner holds it."""
        row = self._row(connection_id)
        if row is None or not _connected(row):
            return False
        free = (row["lease_owner"] is None or row["lease_until"] is None
                or row["lease_until"] <= now or row["lease_owner"] == owner)
        if free:
            row.update(lease_owner=owner, lease_until=until)
        return free

    def acquire_many(self, connection_ids: list[str], owner: str, now: datetime,
                     until: datetime) -> list[str]:
        return [cid for cid in connection_ids if self.acquire(cid, owner, now, until)]

    def renew_many(self, connection_ids: list[str], owner: str, until: datetime) -> int:
        return sum(self.renew(cid, owner, until) for cid in connection_ids)

    def release_many(self, connection_ids: list[str], owner: str) -> None:
        for cid in connection_ids:
            self.release(cid, owner)

    def renew(self, connection_id: str, owner: str, until: datetime) -> bool:
        row = self._row(connection_id)
        if row is None or row["lease_owner"] != owner:
            return False
        row["lease_until"] = until
        return True

    def release(self, connection_id: str, owner: str) -> None:
        row = self._row(connection_id)
        if row is not None and row["lease_owner"] == owner:
            row.update(lease_owner=None, lease_until=None)

    def holder(self, connection_id: str) -> tuple[str | None, datetime | None]:
        row = self._row(connection_id)
        return (row["lease_owner"], row["lease_until"]) if row else (None, None)
