"""Idempotency keys of ``POST /v1/messages``: a hash of the key, and the Gmail ids once sent.

Only ``sha256(key)`` and ``sha256(message)`` (to spot a key reused for another message) are
kept, never the key or the message. A record is ``pending`` while its send runs, under a lease
(``lease_until``), and ``done`` afterwards. A send whose message may have reached Gmail without
an answer leaves it ``unknown``; so does, in effect, a ``pending`` record whose lease ended (its
process died mid-send). A send that failed before Gmail could take the message deletes its
record so the same key may be tried again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from gmail_oneclick.adapters.storage.tables import idempotency_keys
from gmail_oneclick.domain.model import aware
from gmail_oneclick.domain.records import DONE, PENDING, UNKNOWN, IdempotencyRecord


class IdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _where(self, site_id: str, key_hash: str) -> ColumnElement[bool]:
        t = idempotency_keys.c
        return and_(t.site_id == site_id, t.key_hash == key_hash)

    def get(self, site_id: str, key_hash: str) -> IdempotencyRecord | None:
        row = self.conn.execute(
            select(idempotency_keys).where(self._where(site_id, key_hash))
        ).first()
        if row is None:
            return None
        created = aware(row.created_at)
        assert created is not None  # the column is NOT NULL
        return IdempotencyRecord(row.state, created, row.request_hash, row.connection_id,
                                 row.gmail_id, row.thread_id, aware(row.lease_until))

    def claim(
        self, site_id: str, key_hash: str, request_hash: str, now: datetime,
        expired_before: datetime, lease_until: datetime,
    ) -> IdempotencyRecord | None:
        """Insert a pending record leased until ``lease_until`` and return None, or return the
        live record already there.

        A record created before ``expired_before`` is deleted first (keys live 24 hours).
        """
        t = idempotency_keys.c
        self.conn.execute(
            delete(idempotency_keys).where(
                self._where(site_id, key_hash), t.created_at < expired_before
            )
        )
        existing = self.get(site_id, key_hash)
        if existing is not None:
            return existing
        try:
            # A savepoint, so a concurrent insert on PostgreSQL does not abort our transaction.
            with self.conn.begin_nested():
                self.conn.execute(insert(idempotency_keys).values(
                    site_id=site_id, key_hash=key_hash, created_at=now, state=PENDING,
                    request_hash=request_hash, lease_until=lease_until,
                ))
        except IntegrityError:
            return self.get(site_id, key_hash)
        return None

    def complete(
        self, site_id: str, key_hash: str, *, connection_id: str, gmail_id: str, thread_id: str
    ) -> None:
        self.conn.execute(
            update(idempotency_keys)
            .where(self._where(site_id, key_hash))
            .values(state=DONE, connection_id=connection_id, gmail_id=gmail_id,
                    thread_id=thread_id, lease_until=None)
        )

    def mark_unknown(self, site_id: str, key_hash: str, *, connection_id: str) -> None:
        """The send may have reached Gmail: every repeat answers delivery_unknown, none sends."""
        self.conn.execute(
            update(idempotency_keys)
            .where(self._where(site_id, key_hash), idempotency_keys.c.state == PENDING)
            .values(state=UNKNOWN, connection_id=connection_id, lease_until=None)
        )

    def release(self, site_id: str, key_hash: str) -> None:
        """Forget a pending key whose send failed, so a retry with it may send."""
        t = idempotency_keys.c
        self.conn.execute(
            delete(idempotency_keys).where(
                self._where(site_id, key_hash), t.state == PENDING
            )
        )

    def delete_expired(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` records created before ``before`` (the retention)."""
        t = idempotency_keys.c
        # Keys first, then deletes by primary key: PostgreSQL may plan a composite
        # ``(site_id, key_hash) IN (subquery)`` as a join reading the whole primary key index.
        old = self.conn.execute(
            select(t.site_id, t.key_hash).where(t.created_at < before).limit(limit)).all()
        if not old:
            return 0
        self.conn.execute(
            delete(idempotency_keys).where(
                t.site_id == bindparam("s"), t.key_hash == bindparam("k"), t.created_at < before),
            [{"s": row.site_id, "k": row.key_hash} for row in old],
        )
        return len(old)
