"""Fixtures for the sending suite: connections holding real sandbox tokens, the sandbox's Gmail
state, and message builders. Each test owns its database and sandbox (root conftest)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from gmail_oneclick.model import (
    REQUIRED_SCOPES,
    USERINFO_EMAIL,
    Connection,
    Status,
    connection_owner,
)
from gmail_oneclick.sandbox.driver import approve_consent
from gmail_oneclick.sandbox.gmail_state import GmailSandbox, gmail_state
from tests.conftest import RegisteredSite

REDIRECT_URI = "http://127.0.0.1:9/oauth2/callback"


@dataclass
class Linked:
    id: str
    site_id: str
    email: str


def grant_tokens(sandbox: Any, email: str, *, gmail_send: bool = True) -> dict[str, Any]:
    """Consent in the sandbox (its real HTML form), then redeem the code at its /token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode({
        "client_id": sandbox.state.client_id, "redirect_uri": REDIRECT_URI,
        "response_type": "code", "scope": " ".join(sorted(REQUIRED_SCOPES)),
        "state": secrets.token_urlsafe(8), "access_type": "offline", "prompt": "consent",
        "code_challenge": challenge.decode().rstrip("="), "code_challenge_method": "S256",
    })
    with requests.Session() as session:
        callback = approve_consent(session, f"{sandbox.url}/o/oauth2/v2/auth?{query}", email,
                                   grant_gmail_send=gmail_send)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    response = requests.post(f"{sandbox.url}/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI, "client_id": sandbox.state.client_id,
        "client_secret": sandbox.state.client_secret,
    }, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def link_account(container: Any, sandbox: Any, site_id: str, email: str, *,
                 gmail_send: bool = True, stored_scopes: frozenset[str] | None = None) -> Linked:
    """A connected connection with real sandbox tokens, stored as the consent flow stores them."""
    from gmail_oneclick.ids import new_id

    body = grant_tokens(sandbox, email, gmail_send=gmail_send)
    account = sandbox.state.account(email)
    now = container.clock.now()
    scopes = stored_scopes if stored_scopes is not None else (
        frozenset(REQUIRED_SCOPES) if gmail_send else frozenset({USERINFO_EMAIL}))
    connection = Connection(
        id=new_id("conn"), site_id=site_id, google_sub=account.sub, email=account.email,
        status=Status.CONNECTED, scopes=scopes, created_at=now, last_verified_at=None,
        revoked_at=None, revocation_reason=None,
        access_token_expires_at=now + timedelta(seconds=int(body["expires_in"])),
    )
    owner = connection_owner(connection.id)
    with container.uow() as uow:
        uow.connections.add(connection)
        uow.tokens.put(owner, "refresh_token", body["refresh_token"].encode())
        uow.tokens.put(owner, "access_token", body["access_token"].encode())
        uow.tokens.index_refresh_token(owner, body["refresh_token"])
        uow.commit()
    return Linked(connection.id, site_id, account.email)


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
    container.extras["sending_options"] = {"backoff_base": 0.001, "backoff_cap": 0.005}


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
