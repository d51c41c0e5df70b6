"""Cross-Account Protection (RISC) side of the sandbox: signing key, JWKS, discovery, SETs, push.

The same RSA key signs id_tokens and Security Event Tokens, like Google's shared JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from jwt.algorithms import RSAAlgorithm

from gmail_oneclick.domain.security_events import (
    ACCOUNT_DISABLED,
    EVENT_TYPES,
    TOKEN_REVOKED,
    VERIFICATION,
)
from gmail_oneclick.sandbox.records import Account, utcnow

PUSH_TIMEOUT_SECONDS = 5

bp = Blueprint("sandbox_risc", __name__)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(secrets.token_hex(20), key)

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}


class RiscMixin:
    lock: threading.RLock
    client_id: str
    base_url: str | None
    risc_push_url: str | None
    risc_token_alg: str
    pushed_events: list[tuple[datetime, str, int]]
    jwks_fetches: int
    _signing_key: SigningKey

    def _init_risc(self) -> None:
        self._signing_key = SigningKey.generate()
        self.risc_push_url = None
        # What a "Remove access" click puts in its token-revoked event.
        self.risc_token_alg = "prefix"  # noqa: S105 (an algorithm name)
        self.pushed_events = []
        self.jwks_fetches = 0  # GETs of the key set, so tests can see a receiver's refetches

    # -- keys ----------------------------------------------------------------------------------
    @property
    def signing_kid(self) -> str:
        return self._signing_key.kid

    def jwks(self) -> dict[str, Any]:
        """The served key set: only the current key (a rotated-out key no longer verifies)."""
        with self.lock:
            return {"keys": [self._signing_key.public_jwk()]}

    def rotate_signing_key(self) -> str:
        """Replaces the signing key; returns the new ``kid``."""
        key = SigningKey.generate()
        with self.lock:
            self._signing_key = key
        return key.kid

    def sign_jwt(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        with self.lock:
            key = self._signing_key
        headers = {"kid": key.kid, "typ": typ}
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers=headers)

    def issuer_base(self) -> str:
        """The sandbox's public URL without trailing slash (id_token ``iss``)."""
        if not self.base_url:
            raise RuntimeError("state.base_url is not set: start_sandbox or the mount sets it")
        return self.base_url.rstrip("/")

    @property
    def risc_issuer(self) -> str:
        return self.issuer_base() + "/"

    # -- security events -----------------------------------------------------------------------
    def make_security_event(
        self,
        event_type: str,
        subject: dict[str, Any],
        *,
        jti: str | None = None,
        iat: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A signed Security Event Token as Google's RISC would push it."""
        claims = {
            "iss": self.risc_issuer,
            "aud": self.client_id,
            "iat": int(time.time()) if iat is None else iat,
            "jti": jti or uuid.uuid4().hex,
            "events": {event_type: {"subject": subject, **(extra or {})}},
        }
        return self.sign_jwt(claims, typ="secevent+jwt")

    def subject_for_account(self, email_or_account: str | Account) -> dict[str, str]:
        account = email_or_account
        if isinstance(account, str):
            found = self.account(account)
            if found is None:
                raise KeyError(f"no sandbox account {account!r}")
            account = found
        return {"subject_type": "iss-sub", "iss": self.risc_issuer, "sub": account.sub}

    @staticmethod
    def subject_for_refresh_token(token: str, alg: str = "prefix") -> dict[str, str]:
        """Identifies one refresh token by its first 16 characters or its double SHA-512."""
        if alg == "prefix":
            ident = token[:16]
        elif alg == "hash_base64_sha512_sha512":
            inner = hashlib.sha512(token.encode()).digest()
            ident = base64.b64encode(hashlib.sha512(inner).digest()).decode()
        else:
            raise ValueError(f"unknown token_identifier_alg {alg!r}")
        return {
            "subject_type": "oauth_token",
            "token_type": "refresh_token",
            "token_identifier_alg": alg,
            "token": ident,
        }

    def account(self, email: str) -> Account | None:
        raise NotImplementedError

    def changed(self) -> None:
        raise NotImplementedError

    # -- push ----------------------------------------------------------------------------------
    def configure_risc_push(self, url: str | None) -> None:
        with self.lock:
            self.risc_push_url = url
        self.changed()

    def push_event(self, token: str) -> int:
        """POSTs a SET to the configured receiver; its HTTP status, or 0 if unreachable."""
        with self.lock:
            url = self.risc_push_url
        if not url:
            raise RuntimeError("RISC push is not configured (configure_risc_push)")
        event_type = next(iter(jwt.decode(token, options={"verify_signature": False})["events"]))
        try:
            response = requests.post(
                url,
                data=token,
                headers={"Content-Type": "application/secevent+jwt"},
                timeout=PUSH_TIMEOUT_SECONDS,
            )
            status = response.status_code
        except requests.RequestException:
            status = 0
        with self.lock:
            self.pushed_events.append((utcnow(), event_type, status))
        return status


def _state() -> Any:
    return current_app.extensions["sandbox_state"]


@bp.get("/oauth2/v3/certs")
def certs() -> ResponseReturnValue:
    state = _state()
    with state.lock:
        state.jwks_fetches += 1
    response = jsonify(state.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/.well-known/risc-configuration")
def risc_configuration() -> ResponseReturnValue:
    state = _state()
    return jsonify(
        {
            "issuer": state.risc_issuer,
            "jwks_uri": state.issuer_base() + "/oauth2/v3/certs",
            "delivery_methods_supported": [
                "https://schemas.openid.net/secevent/risc/delivery-method/push"
            ],
        }
    )


@bp.route("/_sandbox/risc", methods=["GET", "POST"])
def risc_console() -> ResponseReturnValue:
    """A person picks an account and an event type and pushes one SET to the receiver."""
    state = _state()
    message = None
    if request.method == "POST":
        if "push_url" in request.form:
            state.configure_risc_push(request.form["push_url"].strip() or None)
            message = "Push URL saved."
        else:
            message = _push_from_form(state)
    return render_template(
        "risc.html",
        accounts=state.accounts,
        event_types=EVENT_TYPES,
        push_url=state.risc_push_url,
        pushed=list(reversed(state.pushed_events[-20:])),
        message=message,
    )


def _push_from_form(state: Any) -> str:
    event_type = request.form.get("event_type", "")
    account = state.account(request.form.get("email", ""))
    if event_type not in EVENT_TYPES or account is None:
        return "Pick an account and an event type."
    if not state.risc_push_url:
        return "No push URL configured."
    extra: dict[str, Any] = {}
    if event_type == ACCOUNT_DISABLED:
        extra["reason"] = request.form.get("reason") or "hijacking"
    if event_type == VERIFICATION:
        extra["state"] = request.form.get("verification_state") or "sandbox"
    if event_type == TOKEN_REVOKED:
        tokens = state.refresh_tokens_for(account.email)
        if not tokens:
            return "That account holds no refresh token."
        subject = state.subject_for_refresh_token(tokens[-1], state.risc_token_alg)
    else:
        subject = state.subject_for_account(account)
    status = state.push_event(state.make_security_event(event_type, subject, extra=extra))
    return f"Pushed {event_type.rsplit('/', 1)[-1]}: receiver answered {status or 'nothing'}."
