"""Verifying Cross-Account Protection (RISC) Security Event Tokens with PyJWT.

RS256 only, key chosen by ``kid`` from the issuer's JWKS, ``iss`` equal to settings.risc_issuer
(a trailing slash aside), ``aud`` our client id.

Replays: a token whose ``iat`` is older than ``settings.risc_replay_window`` is refused, and the
``jti`` of every accepted token is kept at least that long (``jti_retention``), so a replayed
token is either deduplicated by its ``jti`` or refused by its age, never acted on twice.
``exp`` is honoured when present (Google's tokens carry none: events describe the past).

Keys: the key set expires from the cache after ``KEY_LIFESPAN`` (a key the issuer withdrew stops
verifying within that time), and a ``kid`` not in the cache triggers at most one fetch per
``REFETCH_INTERVAL``: forged kids cannot make us hammer Google, while a genuine rotation is
picked up at its first event (Google publishes a new key before signing with it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeGuard

import jwt
import requests

from gmail_oneclick.ports import InvalidSecurityEvent
from gmail_oneclick.settings import Settings

log = logging.getLogger(__name__)

ACCEPTED_TYP = frozenset({"secevent+jwt", "application/secevent+jwt", "jwt"})
MAX_TOKEN_BYTES = 64 * 1024
LEEWAY_SECONDS = 300
MAX_JTI_LENGTH = 255
KEY_LIFESPAN = 3600.0
REFETCH_INTERVAL = 60.0
# jti records outlive the replay window by a day: margin for the iat leeway and for clock skew
# between the web process that stored a record and the checker that prunes it.
JTI_MARGIN = timedelta(days=1)


def jti_retention(settings: Settings) -> timedelta:
    """How long a ``jti`` record must be kept so that its token, replayed, is still refused."""
    return timedelta(seconds=settings.risc_replay_window) + JTI_MARGIN


class JwksCache:
    """The issuer's public keys by ``kid``, fetched at most once per ``refetch_interval`` and
    forgotten ``lifespan`` seconds after the fetch that brought them."""

    def __init__(
        self, jwks_uri: str, *, timeout: float, lifespan: float = KEY_LIFESPAN,
        refetch_interval: float = REFETCH_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jwks_uri = jwks_uri
        self.timeout = timeout
        self.lifespan = lifespan
        self.refetch_interval = refetch_interval
        self._monotonic = monotonic
        self._keys: dict[str, Any] = {}
        self._keys_at: float | None = None  # when the cached keys were fetched
        self._tried_at: float | None = None  # the last fetch attempt, successful or not
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> Any:
        """The public key for ``kid``; raises InvalidSecurityEvent when unknown after refetch."""
        with self._lock:
            now = self._monotonic()
            if self._keys_at is not None and now - self._keys_at >= self.lifespan:
                # Expired: even during a JWKS outage a withdrawn key must stop verifying.
                self._keys, self._keys_at = {}, None
            if kid not in self._keys and self._may_fetch(now):
                self._fetch(now)
            found = self._keys.get(kid)
        if found is None:
            raise InvalidSecurityEvent("unknown signing key id")
        return found

    def _may_fetch(self, now: float) -> bool:
        return self._tried_at is None or now - self._tried_at >= self.refetch_interval

    def _fetch(self, now: float) -> None:
        self._tried_at = now
        self.fetches += 1
        try:
            response = requests.get(self.jwks_uri, timeout=self.timeout)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (requests.RequestException, ValueError, jwt.PyJWTError) as exc:
            # Keep the keys still within their lifespan: an outage must not stop those.
            log.warning("RISC key set fetch failed", extra={"error": type(exc).__name__})
            return
        self._keys = {k.key_id: k.key for k in keys if k.key_id}
        self._keys_at = now


class RiscVerifier:
    def __init__(self, settings: Settings, *, jwks: JwksCache | None = None) -> None:
        self.issuer = settings.risc_issuer.rstrip("/")
        self.audience = settings.google_client_id
        self.replay_window = settings.risc_replay_window
        self.jwks = jwks or JwksCache(settings.risc_jwks_uri, timeout=settings.http_timeout)

    def verify(self, token: bytes | str, *, now: float | None = None) -> dict[str, Any]:
        """The verified claims; raises InvalidSecurityEvent for anything not acceptable.

        ``now`` (Unix seconds, default the system clock) judges ``iat`` and ``exp``.
        """
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
                # iat and exp are judged below, against the caller's clock.
                options={"verify_exp": False, "verify_iat": False,
                         "require": ["iss", "aud", "iat", "jti", "events"]},
            )
        except jwt.InvalidAudienceError:
            raise InvalidSecurityEvent("wrong audience") from None
        except jwt.PyJWTError as exc:
            raise InvalidSecurityEvent(f"invalid token ({type(exc).__name__})") from None
        self._check_claims(claims)
        self._check_times(claims, time.time() if now is None else now)
        return claims

    def _check_times(self, claims: dict[str, Any], now: float) -> None:
        iat, exp = claims.get("iat"), claims.get("exp")
        if not _is_number(iat):
            raise InvalidSecurityEvent("iat is not a number")
        if iat > now + LEEWAY_SECONDS:
            raise InvalidSecurityEvent("issued in the future (iat)")
        if now - iat > self.replay_window:
            raise InvalidSecurityEvent("older than the replay window (iat)")
        if exp is not None and (not _is_number(exp) or exp < now - LEEWAY_SECONDS):
            raise InvalidSecurityEvent("expired (exp)")

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


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
