"""Plain records of the Google sandbox (accounts, grants, codes, tokens) and its constants."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gmail_oneclick.domain.model import USERINFO_EMAIL

SANDBOX_CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
SANDBOX_CLIENT_NAME = "gmail-oneclick (sandbox)"
# Scopes Google treats as "sign-in": always granted, never shown as a checkbox.
SIGN_IN_SCOPES = frozenset(
    {"openid", "email", "profile", USERINFO_EMAIL,
     "https://www.googleapis.com/auth/userinfo.profile"}
)
EMAIL_SCOPES = frozenset({"email", USERINFO_EMAIL})
DEFAULT_ACCOUNTS = (
    ("alice@example.com", True),
    ("bob@example.com", True),
    ("carol@example.org", True),
    ("nogmail@example.com", False),
)
FAULT_KINDS = frozenset({"500", "503", "429", "timeout", "invalid_client"})


def digest(token: str) -> str:
    """The key under which a secret value is looked up (never the value itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Account:
    """A Google account: ``sub`` is the stable numeric id, never the email."""

    sub: str
    email: str
    email_verified: bool = True
    has_gmail: bool = True

    @property
    def picture(self) -> str:
        return f"https://lh3.googleusercontent.com/a/sandbox-{self.sub}"


@dataclass(frozen=True)
class AccessInfo:
    """What a live access token stands for; the Gmail side checks bearer tokens with it."""

    sub: str
    email: str
    scopes: frozenset[str]
    client_id: str
    expires_at: datetime


@dataclass
class Grant:
    """One user's authorization of one client; revoking any of its tokens ends all of it."""

    account: Account
    client_id: str
    created_at: datetime
    scopes: set[str] = field(default_factory=set)
    refresh_tokens: list[RefreshToken] = field(default_factory=list)
    live: bool = True

    def live_refresh_tokens(self) -> list[RefreshToken]:
        return [rt for rt in self.refresh_tokens if rt.live] if self.live else []


@dataclass
class RefreshToken:
    value: str
    grant: Grant
    scopes: frozenset[str]
    issued_at: datetime
    live: bool = True


@dataclass
class AccessToken:
    grant: Grant
    scopes: frozenset[str]
    expires_at: datetime


@dataclass
class AuthCode:
    account: Account
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    code_challenge: str
    offline: bool
    prompt_consent: bool
    expires_at: datetime


@dataclass
class PendingRequest:
    """A validated authorization request waiting for the user's choice on the consent page."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str
    offline: bool
    prompt_consent: bool
    login_hint: str | None
    expires_at: datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


class OAuthError(Exception):
    """An OAuth 2.0 error answered as Google does: ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status
