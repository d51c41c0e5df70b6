"""A world for service specifications: the in-memory unit of work and fakes implementing the
ports (Google accounts, Gmail, the webhook transport, the clock). No HTTP, no database.

Fakes record what they were asked and answer from a script (an exception in the script is
raised), so a specification reads: given this answer from Google, the user sees that.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import pytest

from gmail_oneclick.adapters.memory import MemoryDatabase
from gmail_oneclick.adapters.memory import UnitOfWork as MemoryUnitOfWork
from gmail_oneclick.domain.model import REQUIRED_SCOPES, Connection, Site, connection_owner
from gmail_oneclick.ports import GmailSent, GoogleIdentity, TokenGrant
from gmail_oneclick.services import consent, sending, sites
from gmail_oneclick.services.consent_callback import CallbackOutcome, finish_consent
from token_store import Keyring, generate_key_entry

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RETURN_URL = "https://blog.example.com/wp-admin/?page=gmail"
BROWSER = "b" * 43
ALICE = GoogleIdentity(sub="1001", email="alice@example.com", email_verified=True)
BOB = GoogleIdentity(sub="2002", email="bob@example.com", email_verified=True)
Script = list[Any]


def _next(script: Script, default: Callable[[], Any]) -> Any:
    answer = script.pop(0) if script else default()
    if isinstance(answer, BaseException):
        raise answer
    return answer


class FakeClock:
    """ports.Clock that moves only when told."""

    def __init__(self, now: datetime = T0) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@dataclass
class FakeGoogle:
    """ports.GoogleAccounts: scripted exchanges, refreshes and identities."""

    clock: FakeClock
    identity: GoogleIdentity | Exception = ALICE
    exchanges: Script = field(default_factory=list)
    refreshes: Script = field(default_factory=list)
    revoke_answers: Script = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    refreshed_with: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    issued: int = 0

    def grant(self, scopes: frozenset[str] = REQUIRED_SCOPES, *,
              refresh: str | None = "") -> TokenGrant:
        """A token answer; refresh "" means a fresh refresh token, None none at all."""
        self.issued += 1
        refresh_token = f"1//refresh-{self.issued}" if refresh == "" else refresh
        return TokenGrant(f"ya29.access-{self.issued}", self.clock.now() + timedelta(hours=1),
                          scopes, refresh_token)

    def authorization_url(self, *, state: str, code_challenge: str,
                          login_hint: str | None) -> str:
        self.states.append(state)
        return f"https://accounts.example/auth?state={state}&code_challenge={code_challenge}"

    def exchange_code(self, *, code: str, code_verifier: str) -> TokenGrant:
        return _next(self.exchanges, self.grant)  # type: ignore[no-any-return]

    def refresh(self, refresh_token: str) -> TokenGrant:
        self.refreshed_with.append(refresh_token)
        return _next(self.refreshes, lambda: self.grant(refresh=None))  # type: ignore[no-any-return]

    def revoke(self, token: str) -> bool:
        self.revoked.append(token)
        return _next(self.revoke_answers, lambda: True)  # type: ignore[no-any-return]

    def userinfo(self, access_token: str) -> GoogleIdentity:
        if isinstance(self.identity, Exception):
            raise self.identity
        return self.identity


@dataclass
class FakeGmail:
    """ports.GmailSender: records the token and bytes of each attempt."""

    answers: Script = field(default_factory=list)
    attempts: list[tuple[str, bytes]] = field(default_factory=list)
    # Run (once each) while the next sends are in flight: what another request does meanwhile.
    meanwhile: list[Callable[[], None]] = field(default_factory=list)

    def send(self, access_token: str, message: BinaryIO, size: int) -> GmailSent:
        if self.meanwhile:
            self.meanwhile.pop(0)()
        message.seek(0)
        self.attempts.append((access_token, message.read(size)))
        n = len(self.attempts)
        return _next(self.answers, lambda: GmailSent(f"gm{n}", f"th{n}"))  # type: ignore[no-any-return]

    @property
    def tokens(self) -> list[str]:
        return [token for token, _ in self.attempts]


@dataclass
class FakeTransport:
    """services.webhooks.WebhookTransport: answers scripted statuses (204 by default)."""

    statuses: Script = field(default_factory=list)
    posts: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.posts.append((url, body, headers))
        return _next(self.statuses, lambda: 204)  # type: ignore[no-any-return]


def message(sender: str = "alice@example.com", body: str = "hello") -> bytes:
    return (f"From: {sender}\r\nTo: carol@example.net\r\nSubject: Hi\r\n\r\n{body}\r\n"
            ).encode()


@dataclass
class World:
    """One site with a webhook, over an in-memory database, and the fakes."""

    clock: FakeClock
    google: FakeGoogle
    gmail: FakeGmail
    transport: FakeTransport
    database: MemoryDatabase
    site: Site = field(init=False)
    webhook_secret: str = field(init=False)
    committed_events: list[str] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        with self.uow() as uow:
            new = sites.add_site(uow, self.clock, name="Blog",
                                 origins=["https://blog.example.com"],
                                 webhook_url="https://blog.example.com/hook")
        self.site, self.webhook_secret = new.site, new.webhook_secret

    def uow(self, readonly: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.database, readonly=readonly,
                                on_commit=self.committed_events.extend)

    # -- consent -------------------------------------------------------------------------
    def start(self, browser: str = BROWSER, login_hint: str | None = None) -> str:
        """A connect link submitted: returns the OAuth state Google was given."""
        with self.uow() as uow:
            link = consent.create_connect_link(
                uow, self.clock, self.site, public_url="https://svc.example", ttl_seconds=900,
                return_url=RETURN_URL, login_hint=login_hint)
        with self.uow() as uow:
            consent.start_consent(uow, self.clock, self.google,
                                  token=link.url.rsplit("/", 1)[1], browser_id=browser)
        return self.google.states[-1]

    def finish(self, state: str, *, code: str | None = "4/code", error: str | None = None,
               browser: str = BROWSER) -> CallbackOutcome:
        return finish_consent(self.uow, self.clock, self.google, state=state,
                              browser_id=browser, code=code, error=error, check_interval=86400)

    def connect(self, identity: GoogleIdentity = ALICE) -> str:
        """Connect ``identity`` through consent; returns the connection id."""
        self.google.identity = identity
        outcome = self.finish(self.start())
        assert outcome.connection_id is not None, outcome
        return outcome.connection_id

    # -- sending ---------------------------------------------------------------------------
    def sending(self, **kw: Any) -> sending.Sending:
        return sending.Sending(uow_factory=self.uow, google=self.google, gmail=self.gmail,
                               clock=self.clock, sleep=self.sleeps.append, **kw)

    def send(self, raw: bytes | None = None, **kw: Any) -> sending.SendResult:
        raw = message() if raw is None else raw
        out = sending.Outgoing(site_id=self.site.id, message=io.BytesIO(raw), size=len(raw),
                               **kw)
        return sending.send_message(self.sending(), out)

    # -- what a user (or the site) can see ------------------------------------------------
    def connection(self, connection_id: str) -> Connection | None:
        with self.uow() as uow:
            return uow.connections.get(connection_id)

    def connections(self) -> list[Connection]:
        with self.uow() as uow:
            return uow.connections.list_for_site(self.site.id)

    def secret(self, connection_id: str, purpose: str) -> bytes | None:
        with self.uow() as uow:
            return uow.tokens.get(connection_owner(connection_id), purpose)

    def audit(self, connection_id: str) -> list[str]:
        with self.uow() as uow:
            return [e["type"] for e in uow.audit.for_connection(connection_id)]

    def events(self) -> list[dict[str, Any]]:
        """The site's queued webhook events: type and data, oldest first."""
        with self.uow() as uow:
            return [{"type": e["type"], **e["payload"]["data"]}
                    for e in uow.outbox.list_for_site(self.site.id)]

    def expire_access_token(self, connection_id: str) -> None:
        with self.uow() as uow:
            uow.connections.update(connection_id, access_token_expires_at=self.clock.now())
            uow.commit()


def new_world() -> World:
    clock = FakeClock()
    database = MemoryDatabase(Keyring.parse(generate_key_entry("k1")))
    return World(clock, FakeGoogle(clock), FakeGmail(), FakeTransport(), database)


@pytest.fixture
def world() -> World:
    return new_world()
