"""The Idempotency-Key of a send: claimed before Gmail is called, settled after it answered.

At most one delivery per key, and no repeat ever sends by itself. A repeat gets the first send's
result once it is done; 409 ``idempotency_in_progress`` while it runs, with ``Retry-After`` up
to the end of its lease (by then it has an outcome); and 504 ``delivery_unknown`` when the
message may have reached Gmail without an answer: reported so by the send, or inferred when the
lease of a send whose process died has ended. Only a send that failed before Gmail could take
the message frees its key for another try.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from typing import BinaryIO

from gmail_oneclick.domain import errors
from gmail_oneclick.domain.records import DONE, PENDING, IdempotencyRecord
from gmail_oneclick.ports import UnitOfWork

IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY = 255
DEFAULT_LEASE = timedelta(seconds=300)
DELIVERY_UNKNOWN = ("The message may have been sent; check the Sent folder before sending "
                    "again.")


def key_hash(key: str | None) -> str | None:
    """sha256 of the stripped key (None without one). Raises InvalidRequest when malformed."""
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise errors.InvalidRequest("Idempotency-Key must be 1 to 255 printable characters")
    return hashlib.sha256(key.encode()).hexdigest()


def message_hash(message: BinaryIO) -> str:
    digest = hashlib.sha256()
    message.seek(0)
    for chunk in iter(lambda: message.read(1024 * 1024), b""):
        digest.update(chunk)
    message.seek(0)
    return digest.hexdigest()


def claim(uow: UnitOfWork, now: datetime, site_id: str, message: BinaryIO, hashed_key: str,
          lease: timedelta) -> IdempotencyRecord | None:
    """Hold the key for a new send (None), or return the done record of the first send.

    Raises IdempotencyKeyReused (another message), IdempotencyInProgress (the first send still
    holds its lease; ``retry_after`` is the rest of it) or DeliveryUnknown.
    """
    request_hash = message_hash(message)
    existing = uow.idempotency.claim(site_id, hashed_key, request_hash, now,
                                     now - IDEMPOTENCY_TTL, now + lease)
    if existing is None:
        return None
    if existing.request_hash != request_hash:
        raise errors.IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different message")
    if existing.state == DONE and existing.gmail_id and existing.connection_id:
        return existing
    if existing.state == PENDING and existing.lease_until is not None \
            and existing.lease_until > now:
        left = math.ceil((existing.lease_until - now).total_seconds())
        raise errors.IdempotencyInProgress(
            "a send with this Idempotency-Key is in progress; retry after its Retry-After "
            "seconds at the latest", retry_after=max(1, left))
    # "unknown", or "pending" past its lease: the process sending it died mid-send.
    raise errors.DeliveryUnknown(DELIVERY_UNKNOWN)


def settle(uow: UnitOfWork, site_id: str, hashed_key: str, connection_id: str,
           gmail_ids: tuple[str, str] | None, code: str | None) -> None:
    """Record the send's outcome: its Gmail ``(id, thread id)``; else, by error ``code``,
    delivery unknown (kept: no repeat may send) or failed before Gmail took it (freed)."""
    if gmail_ids is not None:
        uow.idempotency.complete(site_id, hashed_key, connection_id=connection_id,
                                 gmail_id=gmail_ids[0], thread_id=gmail_ids[1])
    elif code == errors.DeliveryUnknown.code:
        uow.idempotency.mark_unknown(site_id, hashed_key, connection_id=connection_id)
    else:
        uow.idempotency.release(site_id, hashed_key)
