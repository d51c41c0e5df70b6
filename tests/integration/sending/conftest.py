"""Fixtures for the sending suite: connections holding real sandbox tokens, the sandbox's Gmail
state, and message builders. Each test owns its database and sandbox (root conftest)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from gmail_oneclick.bootstrap import SendPolicy
from gmail_oneclick.sandbox.gmail_state import GmailSandbox, gmail_state
from tests.accounts import Linked, link_account
from tests.conftest import RegisteredSite


def expire_cached_token(container: Any, connection_id: str) -> None:
    """Make our cached access token look expired (as after an hour of quiet)."""
    with container.uow() as uow:
        uow.connections.update(connection_id, access_token_expires_at=container.clock.now()
                               - timedelta(seconds=5))
        uow.commit()


def make_message(*, sender: str = "alice@example.com", to: str = "reader@example.net",
                 subject: str = "Hello", body: str = "Hi there.\n", cc: str | None = None,
                 bcc: str | None = None, attachment: bytes | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    if bcc:
        msg["Bcc"] = bcc
    msg["Subject"] = subject
    msg.set_content(body)
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="octet-stream",
                           filename="data.bin")
    return msg.as_bytes()


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
def gmail(sandbox: Any) -> GmailSandbox:
    """The sandbox's Gmail side: what was sent (raw bytes in memory), faults to inject."""
    g = gmail_state(sandbox.state)
    g.retry_after_seconds = 7
    return g


@pytest.fixture
def fast_retries(container: Any) -> None:
    """Backoff sleeps of at most a few milliseconds, so retry tests stay quick."""
    container.send_policy = SendPolicy(backoff_base=0.001, backoff_cap=0.005)


@pytest.fixture
def alice(container: Any, sandbox: Any, site: RegisteredSite) -> Linked:
    return link_account(container, sandbox, site.id, "alice@example.com")


@pytest.fixture
def post(client: Any, site: RegisteredSite) -> Callable[..., Any]:
    """POST /v1/messages with the site's key; ``raw`` bytes are base64url-encoded for you."""

    def _post(raw: bytes | None = None, *, json: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None, **fields: Any) -> Any:
        body = json if json is not None else {"raw": b64url(raw or make_message()), **fields}
        return client.post("/v1/messages", json=body, headers={**site.auth, **(headers or {})})

    return _post
