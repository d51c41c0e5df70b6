"""Verifying Cross-Account Protection (RISC) Security Event Tokens with PyJWT.

RS256 only, key chosen by ``kid`` from the issuer's JWKS (cached; re-fetched on an unknown
``kid``, at most ``max_fetches`` times per ``window`` seconds so forged kids cannot make us
hammer Google, while a genuine rotation is picked up at its first event),
``iss`` equal to settings.risc_issuer (a trailing slash aside), ``aud`` our client id. ``exp``
is not enforced: events describe the past and may be delivered late.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import jwt
import requests

from gmail_oneclick.settings import Settings

log = logging.getLogger(__name__)

ACCEPTED_TYP = frozenset({"secevent+jwt", "application/secevent+jwt", "jwt"})
MAX_TOKEN_BYTES = 64 * 1024
LEEWAY_SECONDS = 300
MAX_JTI_LENGTH = 255


class InvalidSecurityEvent(ValueError):
    """The token is not a valid SET for us. The message names the reason, never the token."""


class JwksCache:
    """The issuer's public keys by ``kid``."""

    def __init__(
        self, jwks_uri: str, *, timeout: float, max_fetches: int = 3, window: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jwks_uri = jwks_uri
        self.timeout = timeout
        self.max_fetches = max_fetches
        self.window = window
        self._monotonic = monotonic
        self._keys: dict[str, Any] = {}
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> Any:
        """The public key for ``kid``; raises InvalidSecurityEvent when unknown after refetch."""
        with self._lock:
            if kid not in self._keys and self._may_fetch():
                self._fetch()
            found = self._keys.get(kid)
        if found is None:
            raise InvalidSecurityEvent("unknown signing key id")
        return found

    def _may_fetch(self) -> bool:
        now = self._monotonic()
        while self._recent and now - self._recent[0] >= self.window:
            self._recent.popleft()
        return len(self._recent) < self.max_fetches

    def _fetch(self) -> None:
        self._recent.append(self._monotonic())
        self.fetches += 1
        try:
            response = requests.get(self.jwks_uri, timeout=self.timeout)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (requests.RequestException, ValueError, jwt.PyJWTError) as exc:
            # Keep the old keys: a JWKS outage must not stop events signed by known keys.
            log.warning("RISC key set fetch failed", extra={"error": type(exc).__name__})
            return
        self._keys = {k.key_id: k.key for k in keys if k.key_id}


class RiscVerifier:
    def __init__(self, settings: Settings, *, jwks: JwksCache | None = None) -> None:
        self.issuer = settings.risc_issuer.rstrip("/")
        self.audience = settings.google_client_id
        self.jwks = jwks or JwksCache(settings.risc_jwks_uri, timeout=settings.http_timeout)

    def verify(self, token: bytes | str) -> dict[str, Any]:
        """The verified claims; raises InvalidSecurityEvent for anything not acceptable."""
        if isinstance(token, bytes):
            if len(token) > MAX_TOKEN_BYTES:
                raise InvalidSecurityEvent("token too large")
            try:
                token = token.decode("ascii").strip()
            except UnicodeDecodeError:
                raise InvalidSecurityEvent("token is not a JWT") from None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidSecurityEvent("token is not a JWT") from None
        self._check_header(header)
        key = self.jwks.key(str(header["kid"]))
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=["RS256"], audience=self.audience, leeway=LEEWAY_SECONDS,
                options={"verify_exp": False, "require": ["iss", "aud", "iat", "jti", "events"]},
            )
        except jwt.InvalidAudienceError:
            raise InvalidSecurityEvent("wrong audience") from None
        except jwt.PyJWTError as exc:
            raise InvalidSecurityEvent(f"invalid token ({type(exc).__name__})") from None
        self._check_claims(claims)
        return claims

    @staticmethod
    def _check_header(header: dict[str, Any]) -> None:
        if header.get("alg") != "RS256":
            raise InvalidSecurityEvent("algorithm must be RS256")
        if not isinstance(header.get("kid"), str) or not header["kid"]:
            raise InvalidSecurityEvent("missing key id")
        typ = header.get("typ")
        if typ is not None and str(typ).lower() not in ACCEPTED_TYP:
            raise InvalidSecurityEvent("not a security event token")

    def _check_claims(self, claims: dict[str, Any]) -> None:
        if not isinstance(claims.get("iss"), str) or claims["iss"].rstrip("/") != self.issuer:
            raise InvalidSecurityEvent("wrong issuer")
        events = claims.get("events")
        if not isinstance(events, dict) or not events:
            raise InvalidSecurityEvent("no events")
        if not isinstance(claims.get("jti"), str) or not claims["jti"]:
            raise InvalidSecurityEvent("missing jti")
        if len(claims["jti"]) > MAX_JTI_LENGTH:  # the dedup column's width; Google's are short
            raise InvalidSecurityEvent("jti too long")
