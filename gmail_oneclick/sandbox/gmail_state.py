"""The Gmail half of the sandbox's memory: what was "sent", upload sessions and injected faults.

It hangs off the accounts side as ``state.gmail`` (see ``gmail_state(state)``), so one
SandboxState carries both halves without either editing the other. Raw message bytes are kept
in this process's memory only, so tests can check byte identity; they are never written to disk
(persist.py keeps the sent list's metadata only, so a message from before a restart has no raw).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gmail_oneclick.sandbox.records import utcnow

# Google's published limits: knobs on the object so tests can turn them.
MAX_UPLOAD_BYTES = 36_700_160
MAX_JSON_RAW_BYTES = 5 * 1024 * 1024
MAX_RECIPIENTS = 100

# Faults that let the send succeed (the message is recorded, once) and then lose the answer:
# the connection is dropped, or the answer waits ``slow_seconds`` (past the client's timeout).
AFTER_ACCEPT_FAULTS = frozenset({"drop_after_accept", "stall_after_accept"})
GMAIL_FAULTS = frozenset(
    {"429", "user_rate", "daily_limit", "500", "503", "slow", "401", "domain_policy"}
) | AFTER_ACCEPT_FAULTS


@dataclass(frozen=True)
class SentMessage:
    """One message the sandbox accepted. ``raw`` never leaves memory and is not in repr."""

    id: str
    thread_id: str
    email: str
    size: int
    recipients: int
    path: str  # json | media | multipart | resumable
    at: datetime
    raw: bytes = field(repr=False)


@dataclass
class UploadSession:
    """A resumable upload in progress: the session URI is its only credential, as at Google."""

    email: str
    total: int | None
    metadata: dict[str, Any]
    data: bytearray = field(default_factory=bytearray)
    after_accept: str | None = None  # an AFTER_ACCEPT_FAULTS kind for the completing PUT


class GmailSandbox:
    """Sent messages, upload sessions, counters and fault injection. Thread safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.max_upload_bytes = MAX_UPLOAD_BYTES
        self.max_json_raw_bytes = MAX_JSON_RAW_BYTES
        self.max_recipients = MAX_RECIPIENTS
        self.retry_after_seconds = 2
        self.slow_seconds = 5.0
        self.send_requests = 0  # every call that reached a send endpoint, failed or not
        self.sent: list[SentMessage] = []
        self._faults: list[str] = []
        self._sessions: dict[str, UploadSession] = {}
        self.on_change: Callable[[], None] | None = None  # as SandboxState.on_change

    # -- fault injection -------------------------------------------------------------------
    def inject_fault(self, kind: str, count: int = 1) -> None:
        """Makes the next ``count`` send requests fail as ``kind`` (see GMAIL_FAULTS).

        ``slow`` sleeps ``slow_seconds`` then answers normally; ``401`` answers authError once
        per count even for a live token (Google does this after a password change). The
        AFTER_ACCEPT_FAULTS send the message and then lose the answer (on the resumable path,
        at the PUT that completes the upload).
        """
        if kind not in GMAIL_FAULTS:
            raise ValueError(f"unknown Gmail fault {kind!r}; use one of {sorted(GMAIL_FAULTS)}")
        with self.lock:
            self._faults.extend([kind] * count)

    def take_fault(self) -> str | None:
        with self.lock:
            self.send_requests += 1
            return self._faults.pop(0) if self._faults else None

    def pending_faults(self) -> int:
        with self.lock:
            return len(self._faults)

    # -- upload sessions -------------------------------------------------------------------
    def open_session(self, email: str, total: int | None, metadata: dict[str, Any],
                     after_accept: str | None = None) -> str:
        upload_id = "AEnB2U" + secrets.token_urlsafe(24)
        with self.lock:
            self._sessions[upload_id] = UploadSession(email, total, metadata,
                                                      after_accept=after_accept)
        return upload_id

    def session(self, upload_id: str) -> UploadSession | None:
        with self.lock:
            return self._sessions.get(upload_id)

    def close_session(self, upload_id: str) -> None:
        with self.lock:
            self._sessions.pop(upload_id, None)

    # -- what was sent -----------------------------------------------------------------------
    def record(
        self, email: str, raw: bytes, recipients: int, path: str, thread_id: str | None
    ) -> SentMessage:
        message_id = secrets.token_hex(8)
        sent = SentMessage(
            id=message_id, thread_id=thread_id or message_id, email=email, size=len(raw),
            recipients=recipients, path=path, at=utcnow(), raw=raw,
        )
        with self.lock:
            self.sent.append(sent)
        if self.on_change is not None:
            self.on_change()
        return sent

    def sent_by_id(self, message_id: str) -> SentMessage | None:
        with self.lock:
            return next((m for m in self.sent if m.id == message_id), None)

    def sent_count(self) -> int:
        with self.lock:
            return len(self.sent)


def gmail_state(state: Any) -> GmailSandbox:
    """The GmailSandbox attached to a SandboxState as ``state.gmail`` (created on first use)."""
    with state.lock:
        existing = getattr(state, "gmail", None)
        if not isinstance(existing, GmailSandbox):
            existing = GmailSandbox()
            state.gmail = existing
        return existing
