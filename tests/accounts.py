"""Connections holding real sandbox tokens, stored exactly as the consent flow stores them.

For suites that need connected accounts without going through the service's own consent pages
(those are tested in tests/integration/consent and tests/browser).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from gmail_oneclick.domain.model import (
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    REQUIRED_SCOPES,
    USERINFO_EMAIL,
    Connection,
    Status,
    connection_owner,
)
from gmail_oneclick.sandbox.driver import approve_consent

REDIRECT_URI = "http://127.0.0.1:9/oauth2/callback"


@dataclass
class Linked:
    id: str
    site_id: str
    email: str
    sub: str
    refresh_token: str
    access_token: str


def grant_tokens(sandbox: Any, email: str, *, gmail_send: bool = True) -> dict[str, Any]:
    """Consent in the sandbox (its real HTML form), then redeem the code at its /token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode({
        "client_id": sandbox.state.client_id, "redirect_uri": REDIRECT_URI,
        "response_type": "code", "scope": " ".join(sorted(REQUIRED_SCOPES)),
        "state": secrets.token_urlsafe(8), "access_type": "offline", "prompt": "consent",
        "code_challenge": challenge.decode().rstrip("="), "code_challenge_method": "S256",
        "login_hint": email,
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
    from gmail_oneclick.domain.ids import new_id

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
        uow.tokens.put(owner, REFRESH_TOKEN, body["refresh_token"].encode())
        uow.tokens.put(owner, ACCESS_TOKEN, body["access_token"].encode())
        uow.tokens.index_refresh_token(owner, body["refresh_token"])
        uow.commit()
    return Linked(connection.id, site_id, account.email, account.sub, body["refresh_token"],
                  body["access_token"])
