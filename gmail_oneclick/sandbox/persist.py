"""Keeps the Google sandbox's state in a file of the instance folder across restarts.

`gmail-oneclick serve` in sandbox mode loads it at start and rewrites it after every change
(bootstrap wires it); sandboxes started by ``start_sandbox()`` in tests stay in memory.

Kept: accounts, grants (scopes, live or revoked), refresh tokens (fake ones, valid only at this
sandbox), access tokens by their SHA-256 and expiry (the state never holds their values), the
RISC push URL, and the sent list as the sent page shows it (id, account, recipient count, size,
path, time). Never written: message bytes or any header (a message from before a restart has an
empty ``raw``), consent requests and authorization codes in flight (a consent that spans a
restart starts again), the signing key (a new one is served at the JWKS URL), counters and
injected faults.

The whole file is rewritten each time: a temporary file in the same folder, mode 0600, then
renamed over the old one, so a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from gmail_oneclick.sandbox.gmail_state import SentMessage, gmail_state
from gmail_oneclick.sandbox.records import AccessToken, Account, Grant, RefreshToken, digest
from gmail_oneclick.sandbox.state import SandboxState

STATE_FILE = "sandbox-google.json"
FORMAT = 1

log = logging.getLogger(__name__)


class StateFileError(ValueError):
    """The state file exists but cannot be read back (damaged, or from another version)."""


# -- to and from JSON ------------------------------------------------------------------------------
def _grant_doc(state: SandboxState, grant: Grant, now: datetime) -> dict[str, Any]:
    key = (grant.account.sub, grant.client_id)
    return {
        "sub": grant.account.sub, "client_id": grant.client_id,
        "created_at": grant.created_at.isoformat(), "scopes": sorted(grant.scopes),
        "live": grant.live, "current": state._grants.get(key) is grant,
        "refresh_tokens": [
            {"token": rt.value, "scopes": sorted(rt.scopes), "issued_at": rt.issued_at.isoformat(),
             "live": rt.live}
            for rt in grant.refresh_tokens
        ],
        # The state keys access tokens by their SHA-256: only that and the expiry are written.
        "access_tokens": [
            {"sha256": sha, "scopes": sorted(at.scopes), "expires_at": at.expires_at.isoformat()}
            for sha, at in state._access.items() if at.grant is grant and at.expires_at > now
        ],
    }


def _sent_doc(message: SentMessage) -> dict[str, Any]:
    return {"id": message.id, "thread_id": message.thread_id, "email": message.email,
            "size": message.size, "recipients": message.recipients, "path": message.path,
            "at": message.at.isoformat()}


def snapshot(state: SandboxState) -> dict[str, Any]:
    """What the file holds. The caller holds ``state.lock`` (taken before the Gmail side's)."""
    now = state.now()
    grants = {id(g): g for g in state._grants.values()}
    grants.update({id(rt.grant): rt.grant for rt in state._refresh.values()})
    gmail = gmail_state(state)
    with gmail.lock:
        sent = [_sent_doc(m) for m in gmail.sent]
    return {
        "format": FORMAT, "base_url": state.base_url, "next_sub": state._next_sub,
        "risc_push_url": state.risc_push_url,
        "accounts": [{"sub": a.sub, "email": a.email, "email_verified": a.email_verified,
                      "has_gmail": a.has_gmail} for a in state.accounts],
        "grants": [_grant_doc(state, g, now) for g in grants.values()],
        "sent": sent,
    }


def _restore_grant(state: SandboxState, doc: dict[str, Any], accounts: dict[str, Account]) -> None:
    grant = Grant(accounts[doc["sub"]], doc["client_id"],
                  datetime.fromisoformat(doc["created_at"]), set(doc["scopes"]),
                  live=bool(doc["live"]))
    for item in doc["refresh_tokens"]:
        token = RefreshToken(item["token"], grant, frozenset(item["scopes"]),
                             datetime.fromisoformat(item["issued_at"]), bool(item["live"]))
        grant.refresh_tokens.append(token)
        state._refresh[digest(token.value)] = token
    for item in doc["access_tokens"]:
        state._access[item["sha256"]] = AccessToken(
            grant, frozenset(item["scopes"]), datetime.fromisoformat(item["expires_at"]))
    if doc["current"]:
        state._grants[(grant.account.sub, grant.client_id)] = grant


def restore(state: SandboxState, doc: dict[str, Any]) -> None:
    """Puts ``doc`` (from snapshot) into a state just built; raises StateFileError if malformed."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StateFileError("not a Google sandbox state this version reads")
    try:
        with state.lock:
            state.accounts[:] = [Account(a["sub"], a["email"], bool(a["email_verified"]),
                                         bool(a["has_gmail"])) for a in doc["accounts"]]
            state._next_sub = int(doc["next_sub"])
            by_sub = {a.sub: a for a in state.accounts}
            for grant in doc["grants"]:
                _restore_grant(state, grant, by_sub)
            # The push URL is the operator's choice, unless the sandbox now lives elsewhere.
            if doc["base_url"] == state.base_url:
                state.risc_push_url = doc["risc_push_url"]
            gmail_state(state).sent[:] = [
                SentMessage(m["id"], m["thread_id"], m["email"], int(m["size"]),
                            int(m["recipients"]), m["path"], datetime.fromisoformat(m["at"]),
                            raw=b"")
                for m in doc["sent"]]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StateFileError(f"damaged ({type(exc).__name__}: {exc})") from None


# -- the file --------------------------------------------------------------------------------------
def write_private(path: Path, doc: dict[str, Any]) -> None:
    """Writes ``doc`` as JSON to ``path`` atomically, readable by this user only."""
    data = json.dumps(doc, indent=1, sort_keys=True).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:  # mkstemp made it 0600
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


class StateFile:
    """The sandbox state's file: ``load_into`` at start, then ``attach`` to save each change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._numbered = 0  # snapshots taken, numbered under the state's lock
        self._written = 0  # the newest snapshot on disk

    def load_into(self, state: SandboxState) -> bool:
        """Restores the saved state; False when there is no file. Raises StateFileError."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        try:
            restore(state, json.loads(text))
        except (StateFileError, ValueError) as exc:
            raise StateFileError(f"{self.path}: {exc}; 'gmail-oneclick serve --fresh' starts "
                                 "the Google sandbox clean") from None
        return True

    def attach(self, state: SandboxState) -> None:
        """From now on every change to ``state`` rewrites the file."""
        state.on_change = lambda: self.save(state)
        gmail_state(state).on_change = state.on_change

    def save(self, state: SandboxState) -> None:
        """Writes the current state, unless a newer snapshot is already on disk.

        A write failure is logged, never raised: the sandbox keeps working from memory."""
        with state.lock:  # numbered where changes are ordered: a later number saw more
            self._numbered += 1
            number, doc = self._numbered, snapshot(state)
        with self._lock:
            if number <= self._written:
                return
            try:
                write_private(self.path, doc)
            except OSError as exc:
                log.error("could not save the Google sandbox state to %s: %s", self.path,
                          exc.strerror or type(exc).__name__)
                return
            self._written = number

    def forget(self) -> bool:
        """Deletes the file (``serve --fresh``); True when there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True


def keep(state: SandboxState, path: Path, connected: Callable[[], int]) -> StateFile:
    """Restores ``state`` from ``path``, then saves every change there. With no file yet, says
    so when ``connected()`` (connections the service believes live) is not 0: their grants were
    lost with the old sandbox, so each will turn reconnect_required at its next use."""
    file = StateFile(path)
    restored = file.load_into(state)
    if not restored and (count := connected()):
        log.warning("The Google sandbox starts with no saved state (%s): the %d connection(s) "
                    "made before will need connecting again.", path, count)
    file.attach(state)
    if not restored:
        file.save(state)  # warn once: the next start finds this (empty) state
    return file
