"""Google's OAuth 2.0 endpoints (consent URL, token, revoke, userinfo) as a GoogleAccounts adapter.

The consent URL and the code exchange go through google-auth-oauthlib's ``Flow``; refresh,
revoke and userinfo are plain requests. Every call shares one connection pool and the timeout
of ``settings.http_timeout``. Errors become ports.UpstreamError children; their messages carry
an error code or an HTTP status, never a token, a code or the client secret.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2 import OAuth2Error
from requests.adapters import HTTPAdapter

from gmail_oneclick.adapters.google.retry_after import retry_after_header
from gmail_oneclick.adapters.google.token_http import TokenPoster
from gmail_oneclick.domain.urls import is_loopback_host
from gmail_oneclick.ports import (
    GoogleIdentity,
    InvalidGrant,
    TokenGrant,
    TransientUpstream,
    UpstreamError,
    UpstreamMisconfigured,
)
from gmail_oneclick.settings import GOOGLE_DEFAULTS, Settings

log = logging.getLogger(__name__)

RELAX_SCOPE = "OAUTHLIB_RELAX_TOKEN_SCOPE"
INSECURE_TRANSPORT = "OAUTHLIB_INSECURE_TRANSPORT"
DEFAULT_EXPIRES_IN = 3600

# oauthlib reads these two switches from os.environ on every call. They are set once, when the
# process builds its client (bootstrap), never toggled per call: os.environ is process-wide, and
# flipping it while other threads run would let any of them see http allowed, or the scope
# check back on, at random.


def configure_oauthlib(settings: Settings) -> None:
    """Set oauthlib's switches for this process's Google URLs.

    Relaxed token scope always: Google adds ``openid`` to the granted scopes and the service
    checks the granted set itself (``TokenGrant.scopes``). Insecure transport (plain http) only
    when every Google URL is on a loopback host, as with the sandbox; otherwise it is removed
    even if the environment set it, so a Google URL given as non-loopback http is refused.
    """
    os.environ[RELAX_SCOPE] = "1"
    if all(_loopback(getattr(settings, name)) for name in GOOGLE_DEFAULTS):
        os.environ[INSECURE_TRANSPORT] = "1"
    elif os.environ.pop(INSECURE_TRANSPORT, None) is not None:
        log.warning("OAUTHLIB_INSECURE_TRANSPORT ignored: a Google URL is not on loopback")


def _loopback(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname)


class HttpAnswer(Protocol):
    """What the error mapping reads of a response: requests' or token_http's."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


def _error_code(response: HttpAnswer) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # Google APIs' {"error": {"status": ...}} shape
        return str(error.get("status", ""))
    return str(error or "")


def raise_for_status(response: HttpAnswer, what: str) -> None:
    """Map a non-2xx answer to InvalidGrant, TransientUpstream or UpstreamMisconfigured."""
    status = response.status_code
    if status < 400:
        return
    code = _error_code(response)
    if status == 429 or status >= 500:
        raise TransientUpstream(
            f"{what}: Google answered HTTP {status}",
            retry_after=retry_after_header(response.headers.get("Retry-After")),
        )
    if code == "invalid_grant":
        raise InvalidGrant(f"{what}: invalid_grant")
    raise UpstreamMisconfigured(f"{what}: HTTP {status} {code or 'error'}")


def _scopes(raw: Any) -> frozenset[str]:
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list | tuple):
        return frozenset(str(s) for s in raw)
    return frozenset()


def _grant(body: dict[str, Any]) -> TokenGrant:
    """A TokenGrant from a token endpoint body; ``scope`` of the body is the truth."""
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise UpstreamMisconfigured("token endpoint: answer without an access_token")
    try:
        expires_in = int(body.get("expires_in", DEFAULT_EXPIRES_IN))
    except (TypeError, ValueError):
        expires_in = DEFAULT_EXPIRES_IN
    refresh_token = body.get("refresh_token")
    return TokenGrant(
        access_token=access_token,
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
        scopes=_scopes(body.get("scope")),
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
    )


def _json(response: HttpAnswer, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise UpstreamMisconfigured(f"{what}: answer is not JSON") from None
    if not isinstance(body, dict):
        raise UpstreamMisconfigured(f"{what}: answer is not a JSON object")
    return body


class GoogleOAuthClient:
    """ports.GoogleAccounts over Google's (or any compliant server's) OAuth 2.0 endpoints.

    Safe to share between threads: one pooled HTTP adapter, no per-call state on the instance.
    Making one sets oauthlib's process-wide switches (``configure_oauthlib``): the process makes
    its one client at start (bootstrap).
    """

    def __init__(self, settings: Settings, *, pool_size: int = 16) -> None:
        self._settings = settings
        self._timeout = settings.http_timeout
        configure_oauthlib(settings)
        # oauthlib and requests-oauthlib log request bodies and tokens at DEBUG.
        for name in ("oauthlib", "requests_oauthlib"):
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() < logging.WARNING:
                logger.setLevel(logging.WARNING)
        self._adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self._session = self._pooled(requests.Session())
        # Refreshes skip requests' per-call overhead unless a proxy applies (token_http).
        self._token = TokenPoster(settings.google_token_uri, pool_size=pool_size)

    def _pooled(self, session: requests.Session) -> requests.Session:
        session.mount("https://", self._adapter)
        session.mount("http://", self._adapter)
        # No cookies: the session is shared by threads and Google's cookies mean nothing here.
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        return session

    def close(self) -> None:
        self._session.close()
        self._token.close()

    def _flow(self) -> Flow:
        s = self._settings
        config = {
            "web": {
                "client_id": s.google_client_id,
                "client_secret": s.google_client_secret,
                "auth_uri": s.google_auth_uri,
                "token_uri": s.google_token_uri,
                "redirect_uris": [s.redirect_uri],
            }
        }
        flow = Flow.from_client_config(
            config, scopes=list(s.scopes), redirect_uri=s.redirect_uri,
            autogenerate_code_verifier=False,
        )
        self._pooled(flow.oauth2session)
        return flow

    # -- ports.GoogleAccounts --------------------------------------------------------------
    def authorization_url(self, *, state: str, code_challenge: str, login_hint: str | None) -> str:
        """The consent URL: both scopes, offline access, prompt=consent, PKCE S256."""
        extra: dict[str, str] = {
            "access_type": "offline",
            "prompt": "consent",
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if login_hint:
            extra["login_hint"] = login_hint
        try:
            url, _ = self._flow().authorization_url(state=state, **extra)
        except OAuth2Error as exc:  # e.g. insecure_transport: a non-loopback http auth URL
            raise UpstreamMisconfigured(f"consent URL: {exc.error}") from None
        return str(url)

    def exchange_code(self, *, code: str, code_verifier: str) -> TokenGrant:
        """Redeem an authorization code with its PKCE verifier.

        Raises InvalidGrant (bad, used or expired code), TransientUpstream, UpstreamMisconfigured.
        """
        flow = self._flow()
        raw: dict[str, Any] = {}

        def keep_raw_answer(response: requests.Response) -> requests.Response:
            # Before oauthlib parses it: map HTTP errors ourselves (oauthlib ignores the status)
            # and keep the body, whose "scope" oauthlib would silently fill in when absent.
            raise_for_status(response, "code exchange")
            raw.update(_json(response, "code exchange"))
            return response

        flow.oauth2session.register_compliance_hook("access_token_response", keep_raw_answer)
        try:
            flow.fetch_token(code=code, code_verifier=code_verifier, timeout=self._timeout)
        except UpstreamError:
            raise
        except requests.RequestException as exc:
            raise TransientUpstream(f"code exchange: {type(exc).__name__}") from None
        except OAuth2Error as exc:
            if exc.error == "invalid_grant":
                raise InvalidGrant("code exchange: invalid_grant") from None
            raise UpstreamMisconfigured(f"code exchange: {exc.error}") from None
        return _grant(raw)

    def refresh(self, refresh_token: str) -> TokenGrant:
        """A new access token. Raises InvalidGrant (the grant is dead: purge),
        TransientUpstream (try later), UpstreamMisconfigured (our client is wrong)."""
        s = self._settings
        data = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": s.google_client_id,
            "client_secret": s.google_client_secret,
        }
        response: HttpAnswer
        if self._token.usable:
            response = self._token.post(data, timeout=self._timeout, what="refresh")
        else:
            response = self._send("POST", s.google_token_uri, "refresh", data=data)
        raise_for_status(response, "refresh")
        return _grant(_json(response, "refresh"))

    def revoke(self, token: str) -> bool:
        """True when revoked or already dead (400 invalid_token), False when Google refused for
        another reason. Raises TransientUpstream when Google could not be reached or failed,
        UpstreamMisconfigured on 401/403."""
        response = self._send("POST", self._settings.google_revoke_uri, "revoke",
                              data={"token": token})
        if response.status_code < 400:
            return True
        if response.status_code == 400:
            return _error_code(response) == "invalid_token"
        raise_for_status(response, "revoke")
        return False

    def userinfo(self, access_token: str) -> GoogleIdentity:
        """``sub``, ``email`` and ``email_verified`` of the token's account.

        Raises InvalidGrant when the token is refused (401), TransientUpstream or
        UpstreamMisconfigured.
        """
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        response = self._send("GET", self._settings.google_userinfo_uri, "userinfo",
                              headers=headers)
        if response.status_code == 401:
            raise InvalidGrant("userinfo: HTTP 401")
        raise_for_status(response, "userinfo")
        body = _json(response, "userinfo")
        sub = body.get("sub")
        if not isinstance(sub, str) or not sub:
            raise UpstreamMisconfigured("userinfo: answer without sub")
        verified = body.get("email_verified")
        return GoogleIdentity(
            sub=sub,
            email=str(body.get("email") or ""),
            email_verified=verified is True or str(verified).lower() == "true",
        )

    def _send(self, method: str, url: str, what: str, **kw: Any) -> requests.Response:
        try:
            return self._session.request(method, url, timeout=self._timeout, **kw)
        except requests.RequestException as exc:
            raise TransientUpstream(f"{what}: {type(exc).__name__}") from None
