"""The webhook outbox in memory: due events claimed under a lease, finished by their holder."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gmail_oneclick.adapters.memory.state import IntegrityError, Row, Tables
from gmail_oneclick.adapters.uow_parts import FinishesDeliveries
from gmail_oneclick.domain.records import OutboxEvent


def _due(row: Row, now: datetime) -> bool:
    return (row["delivered_at"] is None and row["failed_at"] is None
            and row["next_attempt_at"] <= now
            and (row["lease_until"] is None or row["lease_until"] < now))


def _event(row: Row) -> OutboxEvent:
    return OutboxEvent(row["id"], row["site_id"], row["type"], copy.deepcopy(row["payload"]),
                       row["created_at"], row["attempts"])


class OutboxRepository(FinishesDeliveries):
    def __init__(self, tables: Callable[[], Tables]) -> None:
        self._tables = tables
        # Events added in this transaction: handed to ``on_commit`` once it committed.
        self.added: list[str] = []

    @property
    def _rows(self) -> dict[str, Row]:
        return self._tables().webhook_outbox

    def add(self, *, event_id: str, site_id: str, type_: str, payload: dict[str, Any],
            at: datetime, connection_id: str | None = None) -> None:
        if event_id in self._rows or site_id not in self._tables().sites:
            raise IntegrityError(f"event {event_id!r} exists or its site does not")
        self._rows[event_id] = {
            "id": event_id, "site_id": site_id, "type": type_,
            "payload": copy.deepcopy(payload), "created_at": at, "next_attempt_at": at,
            "attempts": 0, "delivered_at": None, "failed_at": None, "last_status": None,
            "lease_owner": None, "lease_until": None, "connection_id": connection_id,
        }
        self.added.append(event_id)

    def claim_due(self, now: datetime, *, limit: int, lease_owner: str,
                  lease_until: datetime) -> list[OutboxEvent]:
        """Lease up to ``limit`` due events, oldest first."""
        due = sorted((r for r in self._rows.values() if _due(r, now)),
                     key=lambda r: r["next_attempt_at"])[:limit]
        for row in due:
            row.update(lease_owner=lease_owner, lease_until=lease_until)
        return [_event(r) for r in due]

    def claim(self, event_id: str, now: datetime, *, lease_owner: str,
              lease_until: datetime) -> OutboxEvent | None:
        """Lease this one event if it is still due, else None."""
        row = self._rows.get(event_id)
        if row is None or not _due(row, now):
            return None
        row.update(lease_owner=lease_owner, lease_until=lease_until)
        return _event(row)

    def _finish(self, event_id: str, lease_owner: str, **values: Any) -> bool:
        row = self._rows.get(event_id)
        if row is None or row["lease_owner"] != lease_owner:
            return False
        row.update(lease_owner=None, lease_until=None, **values)
        return True

    def get(self, event_id: str) -> dict[str, Any] | None:
        row = self._rows.get(event_id)
        return copy.deepcopy(row) if row else None

    def list_for_site(self, site_id: str) -> list[dict[str, Any]]:
        rows = sorted((r for r in self._rows.values() if r["site_id"] == site_id),
                      key=lambda r: r["created_at"])
        return [copy.deepcopy(r) for r in rows]

    def scrub_email(self, connection_ids: list[str]) -> int:
        """Blank the email in queued or past events of these connections (privacy forget)."""
        wanted = set(connection_ids)
        changed = 0
        for row in self._rows.values():
            data = row["payload"].get("data") or {}
            if row["connection_id"] in wanted and data.get("connection_id") in wanted \
                    and data.get("email") is not None:
                row["payload"]["data"] = {**data, "email": None}
                changed += 1
        return changed

    def prune_finished_before(self, cutoff: datetime, *, limit: int) -> int:
        doomed = [k for k, r in self._rows.items() if r["created_at"] < cutoff
                  and (r["delivered_at"] is not None or r["failed_at"] is not None)][:limit]
        for key in doomed:
            del self._rows[key]
        return len(doomed)
