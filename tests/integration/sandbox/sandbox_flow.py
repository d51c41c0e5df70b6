"""Helpers for the Google sandbox's own tests: PKCE, authorization URLs, consent, tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from gmail_oneclick.sandbox import SandboxServer
from gmail_oneclick.sandbox.driver import approve_consent

GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"
USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
REDIRECT_URI = "http://127.0.0.1:8000/oauth2/callback"


@dataclass
class Pkce:
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def auth_url(server: SandboxServer | Any, pkce: Pkce, **overrides: str | None) -> str:
    """The authorization URL the service would build; an override of None drops a parameter."""
    params: dict[str, str | None] = {
        "client_id": server.state.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": f"{GMAIL_SEND} {USERINFO_EMAIL}",
        "state": "st-" + secrets.token_urlsafe(8),
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "access_type": "offline",
        "prompt": "consent",
        "login_hint": "alice@example.com",
    }
    params.update(overrides)
    kept = {k: v for k, v in params.items() if v is not None}
    return server.url + "/o/oauth2/v2/auth?" + urlencode(kept)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def consent(
    server: SandboxServer, email: str = "alice@example.com", *, gmail: bool = True
) -> tuple[dict[str, str], Pkce]:
    """Runs consent in a fresh session; the callback's query and the PKCE pair."""
    pkce = Pkce()
    callback = approve_consent(
        requests.Session(), auth_url(server, pkce, login_hint=email), email, gmail
    )
    return query_of(callback), pkce


def token_request(server: SandboxServer, data: dict[str, str], **kw: Any) -> requests.Response:
    if "auth" not in kw:
        data = {
            "client_id": server.state.client_id,
            "client_secret": server.state.client_secret,
            **data,
        }
    return requests.post(server.url + "/token", data=data, timeout=10, **kw)


def exchange(server: SandboxServer, code: str, verifier: str) -> requests.Response:
    return token_request(
        server,
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": REDIRECT_URI,
        },
    )


def connect(server: SandboxServer, email: str = "alice@example.com") -> dict[str, Any]:
    """Consent plus code exchange: the token response."""
    query, pkce = consent(server, email)
    response = exchange(server, query["code"], pkce.verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(server: SandboxServer, refresh_token: str) -> requests.Response:
    return token_request(server, {"grant_type": "refresh_token", "refresh_token": refresh_token})


class Receiver:
    """A RISC receiver on loopback that records what it is pushed and answers ``status``."""

    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.received: list[tuple[str, str]] = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/risc"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def _app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        request = Request(environ)
        self.received.append((request.content_type or "", request.get_data(as_text=True)))
        return Response(status=self.status)(environ, start_response)  # type: ignore[no-any-return]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
