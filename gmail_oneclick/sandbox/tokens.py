"""The token side of the sandbox state: code exchange, refresh, revoke and grant bookkeeping.

Google's rules, kept here: all refresh tokens of one account for one client belong to one grant;
revoking any token (or the user's "Remove access") ends that whole grant; each exchange after
``access_type=offline&prompt=consent`` mints another refresh token, and past
``max_refresh_tokens`` the oldest one dies silently.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gmail_oneclick.sandbox.records import (
    EMAIL_SCOPES,
    AccessInfo,
    AccessToken,
    Account,
    AuthCode,
    Grant,
    OAuthError,
    RefreshToken,
    digest,
    utcnow,
)

DEAD_REFRESH = "Token has been expired or revoked."


@dataclass(frozen=True)
class Issued:
    """A successful token response plus who it is for (the view adds the id_token)."""

    body: dict[str, Any]
    account: Account
    scopes: frozenset[str]


def scope_string(scopes: frozenset[str]) -> str:
    """Space-separated scopes, with ``openid`` added when an email scope is there (as Google)."""
    full = set(scopes)
    if full & EMAIL_SCOPES:
        full.add("openid")
    return " ".join(sorted(full))


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


class TokenMixin:
    lock: threading.RLock
    client_id: str
    access_token_lifetime: int
    max_refresh_tokens: int
    refresh_count: int
    revoke_calls: list[tuple[datetime, str]]
    _refresh_by_email: dict[str, int]
    _grants: dict[tuple[str, str], Grant]
    _refresh: dict[str, RefreshToken]
    _access: dict[str, AccessToken]
    _codes: dict[str, AuthCode]

    def account(self, email: str) -> Account | None:
        raise NotImplementedError

    def changed(self) -> None:
        raise NotImplementedError

    # -- the token endpoint ----------------------------------------------------------------
    def exchange_code(
        self, client_id: str, code: str, verifier: str, redirect_uri: str
    ) -> Issued:
        """Redeems an authorization code; raises OAuthError as Google would."""
        if not code:
            raise OAuthError("invalid_request", "Missing required parameter: code")
        with self.lock:
            found = self._codes.pop(digest(code), None)
        # The code is burnt from here on, whatever goes wrong next.
        if found is None or found.expires_at <= utcnow() or found.client_id != client_id:
            raise OAuthError("invalid_grant", "Bad Request")
        if redirect_uri != found.redirect_uri:
            raise OAuthError("invalid_grant", "Bad Request")
        if not verifier:
            raise OAuthError("invalid_grant", "Missing code verifier.")
        if not hmac.compare_digest(s256(verifier), found.code_challenge):
            raise OAuthError("invalid_grant", "Invalid code verifier.")
        with self.lock:
            grant = self._live_grant(found.account, client_id)
            grant.scopes |= found.scopes
            body = self._mint_access(grant, found.scopes)
            # Google hands out a refresh token on the first offline consent, and again only
            # when prompt=consent forces the consent screen.
            if found.offline and (found.prompt_consent or not grant.live_refresh_tokens()):
                body["refresh_token"] = self._mint_refresh(grant, found.scopes)
        self.changed()
        return Issued(body, found.account, found.scopes)

    def refresh(self, client_id: str, token: str, scope: str | None) -> Issued:
        """Answers a refresh_token grant: a new access token, never a new refresh token."""
        if not token:
            raise OAuthError("invalid_request", "Missing required parameter: refresh_token")
        with self.lock:
            found = self._refresh.get(digest(token))
            if found is None or not (found.live and found.grant.live):
                raise OAuthError("invalid_grant", DEAD_REFRESH)
            if found.grant.client_id != client_id:
                raise OAuthError("unauthorized_client", "Unauthorized")
            scopes = found.scopes
            if scope:
                asked = frozenset(scope.split())
                if not asked <= scopes | {"openid"}:
                    raise OAuthError("invalid_scope", "Bad Request")
                scopes = asked - {"openid"} if asked - {"openid"} else scopes
            body = self._mint_access(found.grant, scopes)
            self.refresh_count += 1
            email = found.grant.account.email
            self._refresh_by_email[email] = self._refresh_by_email.get(email, 0) + 1
        self.changed()
        return Issued(body, found.grant.account, scopes)

    def revoke_token(self, token: str) -> None:
        """The revocation endpoint: any live token of a grant ends the whole grant."""
        if not token:
            raise OAuthError("invalid_request", "Missing required parameter: token")
        with self.lock:
            key = digest(token)
            grant: Grant | None = None
            kind = "unknown"
            if (rt := self._refresh.get(key)) is not None:
                kind = "refresh_token"
                grant = rt.grant if rt.live and rt.grant.live else None
            elif (at := self._access.get(key)) is not None:
                kind = "access_token"
                grant = at.grant if at.grant.live and at.expires_at > utcnow() else None
            self.revoke_calls.append((utcnow(), kind))
            if grant is None:
                raise OAuthError("invalid_token", "Token expired or revoked")
            self._end_grant(grant)
        self.changed()

    # -- what tests and the Gmail side ask ---------------------------------------------------
    def access_token_info(self, token: str) -> AccessInfo | None:
        """Who a bearer token belongs to; None when unknown, expired or its grant is gone."""
        with self.lock:
            found = self._access.get(digest(token))
            if found is None or not found.grant.live or found.expires_at <= utcnow():
                return None
            account = found.grant.account
            return AccessInfo(
                account.sub, account.email, found.scopes, found.grant.client_id, found.expires_at
            )

    def revoke_grant(self, email: str) -> None:
        """The user's "Remove access": every token of that account for the client dies."""
        with self.lock:
            account = self.account(email)
            grant = self._grants.get((account.sub, self.client_id)) if account else None
            if grant is not None:
                self._end_grant(grant)
        self.changed()

    def expire_access_tokens(self, email: str | None = None) -> None:
        """Makes current access tokens (of one account, or all) expired."""
        with self.lock:
            past = utcnow() - timedelta(seconds=1)
            for token in self._access.values():
                if email is None or token.grant.account.email.lower() == email.lower():
                    token.expires_at = past
        self.changed()

    def refresh_count_for(self, email: str) -> int:
        with self.lock:
            return self._refresh_by_email.get(email, 0)

    def refresh_tokens_for(self, email: str) -> list[str]:
        """Every refresh token ever issued to the account (live or dead), oldest first."""
        with self.lock:
            tokens = [rt for rt in self._refresh.values() if rt.grant.account.email == email]
            return [rt.value for rt in sorted(tokens, key=lambda rt: rt.issued_at)]

    def live_grants(self) -> list[Grant]:
        with self.lock:
            return [g for g in self._grants.values() if g.live]

    # -- internals (caller holds the lock) ---------------------------------------------------
    def _live_grant(self, account: Account, client_id: str) -> Grant:
        key = (account.sub, client_id)
        grant = self._grants.get(key)
        if grant is None or not grant.live:
            grant = self._grants[key] = Grant(account, client_id, utcnow())
        return grant

    def _mint_access(self, grant: Grant, scopes: frozenset[str]) -> dict[str, Any]:
        token = "ya29.sbx-" + secrets.token_urlsafe(40)
        expires = utcnow() + timedelta(seconds=self.access_token_lifetime)
        self._access[digest(token)] = AccessToken(grant, scopes, expires)
        return {
            "access_token": token,
            "expires_in": self.access_token_lifetime,
            "scope": scope_string(scopes),
            "token_type": "Bearer",
        }

    def _mint_refresh(self, grant: Grant, scopes: frozenset[str]) -> str:
        token = "1//0sbx-" + secrets.token_urlsafe(48)
        record = RefreshToken(token, grant, scopes, utcnow())
        grant.refresh_tokens.append(record)
        self._refresh[digest(token)] = record
        live = grant.live_refresh_tokens()
        for oldest in live[: max(0, len(live) - self.max_refresh_tokens)]:
            oldest.live = False
        return token

    def _end_grant(self, grant: Grant) -> None:
        grant.live = False
        for rt in grant.refresh_tokens:
            rt.live = False
        for key in [k for k, at in self._access.items() if at.grant is grant]:
            del self._access[key]
