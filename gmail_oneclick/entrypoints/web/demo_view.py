"""What the demo screen shows: one row per connection in words, and the last result as a
sentence with its next step (the words themselves are in words.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gmail_oneclick.bootstrap import SANDBOX_MOUNT
from gmail_oneclick.domain.model import Connection, Status
from gmail_oneclick.entrypoints.web import words
from gmail_oneclick.entrypoints.web.demo_site import DEMO_PATH

# The query the demo screen reads: the connect flow's return, and the demo's own actions'.
RESULT_KEYS = ("gmail_oneclick", "connection_id", "reason", "done", "code", "gmail_id")


@dataclass(frozen=True)
class Row:
    id: str
    status: str  # the headline: "Connected as …" or why access ended
    detail: str
    connected: bool


@dataclass(frozen=True)
class Notice:
    kind: Literal["ok", "problem"]
    said: words.Said


def _when(connection: Connection) -> str:
    if connection.status is Status.CONNECTED:
        checked = connection.last_verified_at or connection.created_at
        return (f"Connected {connection.created_at:%Y-%m-%d %H:%M} UTC; "
                f"last confirmed with Google {checked:%Y-%m-%d %H:%M} UTC.")
    ended = connection.revoked_at or connection.created_at
    why = words.revocation_reason(connection.revocation_reason)
    return f"Access ended {ended:%Y-%m-%d %H:%M} UTC: {why}."


def rows(found: list[Connection]) -> list[Row]:
    return [
        Row(c.id, words.connection_status(c.status.value, c.email, c.revocation_reason),
            _when(c), c.status is Status.CONNECTED)
        for c in found
    ]


def notice(result: dict[str, str], found: list[Connection]) -> Notice | None:
    """The sentence for the result in the query, or None when there is none."""
    connection = next((c for c in found if c.id == result.get("connection_id")), None)
    email = (connection.email if connection else None) or "the account"
    if result.get("gmail_oneclick") == "connected":
        return Notice("ok", words.connected(email))
    if result.get("gmail_oneclick") == "error":
        return Notice("problem", words.connect_error(result.get("reason", "")))
    done = result.get("done")
    if done == "test_sent":
        return Notice("ok", words.test_sent(email, result.get("gmail_id", "")))
    if done == "disconnected":
        return Notice("ok", words.disconnected(email))
    if done in ("send_failed", "disconnect_failed"):
        return Notice("problem", words.send_error(result.get("code", "")))
    return None


def sandbox_links(public_url: str) -> dict[str, str]:
    """Where the demo's user goes next: the landing page and the sandbox's own pages."""
    base = public_url.rstrip("/")
    google = base + SANDBOX_MOUNT
    return {
        "home": base + "/",
        "demo": base + DEMO_PATH,
        "google": google + "/",
        "permissions": google + "/myaccount/permissions",
        "sent": google + "/_sandbox/gmail/sent",
        "risc": google + "/_sandbox/risc",
    }
