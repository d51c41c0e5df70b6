"""In-memory state of the Google sandbox: accounts, grants, codes, tokens, counters, faults.

Everything lives behind one lock, so the threaded development server and the tests that poke
the state directly never see half an update. Token values are kept only because the sandbox
must hand them to tests (``refresh_tokens_for``); lookups go through a SHA-256 of the token.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from gmail_oneclick.domain.security_events import TOKEN_REVOKED, TOKENS_REVOKED
from gmail_oneclick.sandbox.records import (
    DEFAULT_ACCOUNTS,
    EMAIL_SCOPES,
    FAULT_KINDS,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_NAME,
    AccessInfo,
    AccessToken,
    Account,
    AuthCode,
    Grant,
    PendingRequest,
    RefreshToken,
    digest,
    utcnow,
)
from gmail_oneclick.sandbox.risc import RiscMixin
from gmail_oneclick.sandbox.tokens import TokenMixin

__all__ = ["SANDBOX_CLIENT_ID", "AccessInfo", "Account", "SandboxState"]


class SandboxState(TokenMixin, RiscMixin):
    """All of the sandbox's memory. Safe to share between threads."""

    def __init__(
        self,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str | None = None,
        accounts: Iterable[Account] | None = None,
        client_name: str = SANDBOX_CLIENT_NAME,
    ) -> None:
        self.lock = threading.RLock()
        self.client_id = client_id
        # The OAuth client's registration: its name is what the consent screen shows the user.
        self.client_name = client_name
        self.client_secret = client_secret or "GOCSPX-sandbox-" + secrets.token_urlsafe(24)
        self.base_url: str | None = None
        self.redirect_uris: set[str] = set()
        self.accounts: list[Account] = []
        # Knobs tests may turn.
        self.access_token_lifetime = 3599
        self.code_lifetime = 600
        self.max_refresh_tokens = 100
        self.slow_seconds = 5.0
        self.retry_after_seconds = 1
        # Counters.
        self.refresh_count = 0
        self.token_calls = 0
        self.revoke_calls: list[tuple[datetime, str]] = []
        self._refresh_by_email: dict[str, int] = {}
        self._faults: list[str] = []
        self._grants: dict[tuple[str, str], Grant] = {}
        self._refresh: dict[str, RefreshToken] = {}
        self._access: dict[str, AccessToken] = {}
        self._codes: dict[str, AuthCode] = {}
        self._pending: dict[str, PendingRequest] = {}
        self._next_sub = 104_857_600_000_000_000_001
        # Called after each change worth keeping across restarts (persist.StateFile sets it in
        # `gmail-oneclick serve`; tests' sandboxes leave it unset and stay in memory).
        self.on_change: Callable[[], None] | None = None
        if accounts is None:
            for email, has_gmail in DEFAULT_ACCOUNTS:
                self.add_account(email, has_gmail=has_gmail)
        else:
            self.accounts.extend(accounts)
        self._init_risc()

    @staticmethod
    def now() -> datetime:
        return utcnow()

    def changed(self) -> None:
        """Tells the persister, if any, that accounts, grants, tokens or settings changed."""
        hook = self.on_change
        if hook is not None:
            hook()

    # -- accounts and redirect URIs ------------------------------------------------------
    def add_account(
        self, email: str, *, has_gmail: bool = True, email_verified: bool = True
    ) -> Account:
        """Adds (or returns the existing) account with this email; ``sub`` is a fresh number."""
        with self.lock:
            existing = self.account(email)
            if existing is not None:
                return existing
            account = Account(str(self._next_sub), email, email_verified, has_gmail)
            self._next_sub += 7919
            self.accounts.append(account)
        self.changed()
        return account

    def account(self, email: str) -> Account | None:
        """The account with this email (case-insensitive), or None."""
        with self.lock:
            wanted = email.strip().lower()
            return next((a for a in self.accounts if a.email.lower() == wanted), None)

    def register_redirect_uri(self, uri: str) -> None:
        with self.lock:
            self.redirect_uris.add(uri)

    # -- fault injection -----------------------------------------------------------------
    def inject_token_fault(self, kind: str, count: int = 1) -> None:
        """Makes the next ``count`` token requests fail as ``kind`` (see FAULT_KINDS)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(FAULT_KINDS)}")
        with self.lock:
            self._faults.extend([kind] * count)

    def take_token_fault(self) -> str | None:
        with self.lock:
            self.token_calls += 1
            return self._faults.pop(0) if self._faults else None

    # -- pending consent requests --------------------------------------------------------
    def add_pending(self, request: PendingRequest) -> str:
        with self.lock:
            self._drop_stale()
            request_id = secrets.token_urlsafe(18)
            self._pending[request_id] = request
            return request_id

    def take_pending(self, request_id: str) -> PendingRequest | None:
        """Pops a pending request: the consent form is single-use."""
        with self.lock:
            request = self._pending.pop(request_id, None)
            if request is None or request.expires_at <= self.now():
                return None
            return request

    def _drop_stale(self) -> None:
        now = self.now()
        for key in [k for k, p in self._pending.items() if p.expires_at <= now]:
            del self._pending[key]
        for key in [k for k, c in self._codes.items() if c.expires_at <= now]:
            del self._codes[key]

    def issue_code(self, pending: PendingRequest, account: Account, scopes: frozenset[str]) -> str:
        """A single-use authorization code valid for ``code_lifetime`` seconds."""
        code = "4/0Sbx" + secrets.token_urlsafe(32)
        with self.lock:
            self._codes[digest(code)] = AuthCode(
                account=account,
                client_id=pending.client_id,
                redirect_uri=pending.redirect_uri,
                scopes=scopes,
                code_challenge=pending.code_challenge,
                offline=pending.offline,
                prompt_consent=pending.prompt_consent,
                expires_at=self.now() + timedelta(seconds=self.code_lifetime),
            )
        return code

    # -- the user's "Remove access" in their Google account --------------------------------
    def remove_access(self, email: str) -> list[int]:
        """Revokes the account's grant and, when RISC push is configured and the grant held an
        email scope, pushes ``tokens-revoked`` then one ``token-revoked`` per live refresh token,
        as Google does. Returns the receiver's statuses (empty when nothing was pushed)."""
        with self.lock:
            account = self.account(email)
            grant = self._grants.get((account.sub, self.client_id)) if account else None
            if account is None or grant is None or not grant.live:
                return []
            tokens = [rt.value for rt in grant.live_refresh_tokens()]
            signs_in = bool(grant.scopes & EMAIL_SCOPES)
            self.revoke_grant(email)
            push = self.risc_push_url is not None and signs_in
        if not push:
            return []
        events = [self.make_security_event(TOKENS_REVOKED, self.subject_for_account(account))]
        events += [
            self.make_security_event(
                TOKEN_REVOKED, self.subject_for_refresh_token(token, self.risc_token_alg)
            )
            for token in tokens
        ]
        return [self.push_event(event) for event in events]
