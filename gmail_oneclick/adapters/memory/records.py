"""Sites, the audit trail, Idempotency-Keys, seen RISC events and rate counters, in memory."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from gmail_oneclick.adapters.memory.state import IntegrityError, Row, Tables
from gmail_oneclick.adapters.storage.audit import ALLOWED_KEYS
from gmail_oneclick.domain.model import Site
from gmail_oneclick.domain.records import DONE, PENDING, UNKNOWN, IdempotencyRecord

Tx = Callable[[], Tables]


def _site(row: Row) -> Site:
    return Site(id=row["id"], name=row["name"], origins=tuple(row["origins"]),
                webhook_url=row["webhook_url"], created_at=row["created_at"],
                verified_at=row["verified_at"])


class SiteRepository:
    def __init__(self, tables: Tx) -> None:
        self._tables = tables

    @property
    def _rows(self) -> dict[str, Row]:
        return self._tables().sites

    def add(self, site: Site, api_key_hash: str,
            verification_token_hash: str | None = None) -> None:
        if site.id in self._rows or any(r["api_key_hash"] == api_key_hash
                                        for r in self._rows.values()):
            raise IntegrityError(f"site {site.id!r} or its API key hash exists")
        self._rows[site.id] = {
            "id": site.id, "name": site.name, "origins": list(site.origins),
            "webhook_url": site.webhook_url, "api_key_hash": api_key_hash,
            "created_at": site.created_at, "key_rotated_at": None,
            "verified_at": site.verified_at, "verification_token_hash": verification_token_hash,
        }

    def verification_token_hash(self, site_id: str) -> str | None:
        row = self._rows.get(site_id)
        return row["verification_token_hash"] if row else None

    def mark_verified(self, site_id: str, at: datetime) -> bool:
        row = self._rows.get(site_id)
        if row is None or row["verified_at"] is not None:
            return False
        row.update(verified_at=at, verification_token_hash=None)
        return True

    def get(self, site_id: str) -> Site | None:
        row = self._rows.get(site_id)
        return _site(row) if row else None

    def by_api_key_hash(self, key_hash: str) -> tuple[Site, str] | None:
        for row in self._rows.values():
            if row["api_key_hash"] == key_hash:
                return _site(row), row["api_key_hash"]
        return None

    def list(self) -> list[Site]:
        return sorted((_site(r) for r in self._rows.values()), key=lambda s: s.created_at)

    def set_api_key_hash(self, site_id: str, key_hash: str, at: datetime) -> bool:
        row = self._rows.get(site_id)
        if row is None:
            return False
        row.update(api_key_hash=key_hash, key_rotated_at=at)
        return True

    def remove(self, site_id: str) -> bool:
        if site_id not in self._rows:
            return False
        self._tables().remove_site(site_id)
        return True


class AuditRepository:
    def __init__(self, tables: Tx) -> None:
        self._tables = tables

    def record(self, type_: str, at: datetime, *, site_id: str | None = None,
               connection_id: str | None = None, **data: Any) -> None:
        tables = self._tables()
        clean = {k: copy.deepcopy(v) for k, v in data.items() if k in ALLOWED_KEYS}
        tables.audit_events.append({"id": tables.next_audit_id, "at": at, "type": type_,
                                    "site_id": site_id, "connection_id": connection_id,
                                    "data": clean})
        tables.next_audit_id += 1

    def for_connection(self, connection_id: str) -> list[dict[str, Any]]:
        rows = sorted((r for r in self._tables().audit_events
                       if r["connection_id"] == connection_id),
                      key=lambda r: (r["at"], r["id"]))
        return [{"at": r["at"], "type": r["type"], "data": copy.deepcopy(r["data"])}
                for r in rows]

    def prune_before(self, cutoff: datetime, *, limit: int) -> int:
        tables = self._tables()
        doomed = {r["id"] for r in tables.audit_events if r["at"] < cutoff}
        doomed = set(sorted(doomed)[:limit])
        tables.audit_events = [r for r in tables.audit_events if r["id"] not in doomed]
        return len(doomed)


class IdempotencyRepository:
    def __init__(self, tables: Tx) -> None:
        self._tables = tables

    @property
    def _rows(self) -> dict[tuple[str, str], Row]:
        return self._tables().idempotency_keys

    def get(self, site_id: str, key_hash: str) -> IdempotencyRecord | None:
        row = self._rows.get((site_id, key_hash))
        if row is None:
            return None
        return IdempotencyRecord(row["state"], row["created_at"], row["request_hash"],
                                 row["connection_id"], row["gmail_id"], row["thread_id"],
                                 row["lease_until"])

    def claim(self, site_id: str, key_hash: str, request_hash: str, now: datetime,
              expired_before: datetime, lease_until: datetime) -> IdempotencyRecord | None:
        """Insert a pending record and return None, or return the live record already there."""
        key = (site_id, key_hash)
        row = self._rows.get(key)
        if row is not None and row["created_at"] < expired_before:
            del self._rows[key]
        existing = self.get(site_id, key_hash)
        if existing is not None:
            return existing
        if site_id not in self._tables().sites:
            raise IntegrityError(f"no site {site_id!r}")
        self._rows[key] = {"site_id": site_id, "key_hash": key_hash, "created_at": now,
                           "state": PENDING, "request_hash": request_hash,
                           "connection_id": None, "gmail_id": None, "thread_id": None,
                           "lease_until": lease_until}
        return None

    def complete(self, site_id: str, key_hash: str, *, connection_id: str, gmail_id: str,
                 thread_id: str) -> None:
        row = self._rows.get((site_id, key_hash))
        if row is not None:
            row.update(state=DONE, connection_id=connection_id, gmail_id=gmail_id,
                       thread_id=thread_id, lease_until=None)

    def mark_unknown(self, site_id: str, key_hash: str, *, connection_id: str) -> None:
        row = self._rows.get((site_id, key_hash))
        if row is not None and row["state"] == PENDING:
            row.update(state=UNKNOWN, connection_id=connection_id, lease_until=None)

    def release(self, site_id: str, key_hash: str) -> None:
        row = self._rows.get((site_id, key_hash))
        if row is not None and row["state"] == PENDING:
            del self._rows[(site_id, key_hash)]

    def delete_expired(self, before: datetime, *, limit: int) -> int:
        doomed = [k for k, row in self._rows.items() if row["created_at"] < before][:limit]
        for key in doomed:
            del self._rows[key]
        return len(doomed)


class RiscRepository:
    def __init__(self, tables: Tx) -> None:
        self._tables = tables

    def remember(self, jti: str, event_types: list[str], at: datetime) -> bool:
        """Record ``jti``; False when it was already recorded (a replay)."""
        rows = self._tables().risc_events
        if jti in rows:
            return False
        rows[jti] = {"jti": jti, "received_at": at, "types": list(event_types)}
        return True

    def forget_before(self, cutoff: datetime) -> int:
        rows = self._tables().risc_events
        doomed = [jti for jti, row in rows.items() if row["received_at"] < cutoff]
        for jti in doomed:
            del rows[jti]
        return len(doomed)


class RateLimitRepository:
    def __init__(self, tables: Tx) -> None:
        self._tables = tables

    def hit(self, bucket: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """Count one event in ``bucket``'s current window. Returns (count, window end)."""
        row = self._tables().rate_limits.setdefault(
            bucket, {"bucket": bucket, "window_start": now, "count": 0})
        start, count = row["window_start"], row["count"] + 1
        if now - start >= window:
            start, count = now, 1
        row.update(window_start=start, count=count)
        return count, start + window
