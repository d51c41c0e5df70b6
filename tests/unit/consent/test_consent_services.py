"""The consent services with a fake Google: every upstream failure ends in a clear outcome,
nothing half-stored, and a grant is revoked only when no live connection shares it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from gmail_oneclick.adapters.memory import MemoryDatabase, UnitOfWork
from gmail_oneclick.domain.model import GMAIL_SEND, REQUIRED_SCOPES, USERINFO_EMAIL, Site
from gmail_oneclick.ports import (
    GoogleIdentity,
    InvalidGrant,
    SystemClock,
    TokenGrant,
    TransientUpstream,
)
from gmail_oneclick.sandbox.tokens import s256
from gmail_oneclick.services import consent
from gmail_oneclick.services.consent_callback import Result, finish_consent
from gmail_oneclick.services.sites import add_site
from token_store import Keyring, generate_key_entry

RETURN = "https://blog.example.com/wp-admin/?page=gmail"
ALICE = GoogleIdentity(sub="1001", email="alice@example.com", email_verified=True)


def grant(scopes: frozenset[str] = REQUIRED_SCOPES | {"openid"},
          refresh: str | None = "1//0fake-refresh") -> TokenGrant:
    return TokenGrant("ya29.fake-access", datetime.now(UTC) + timedelta(hours=1), scopes, refresh)


@dataclass
class FakeGoogle:
    """ports.GoogleAccounts with scripted answers; records what it was asked."""

    exchange: TokenGrant | Exception = field(default_factory=grant)
    identity: GoogleIdentity | Exception = ALICE
    revoke_error: Exception | None = None
    revoked: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)

    def authorization_url(self, *, state: str, code_challenge: str, login_hint: str | None) -> str:
        self.states.append(state)
        return f"https://accounts.example/auth?state={state}&code_challenge={code_challenge}"

    def exchange_code(self, *, code: str, code_verifier: str) -> TokenGrant:
        if isinstance(self.exchange, Exception):
            raise self.exchange
        return self.exchange

    def refresh(self, refresh_token: str) -> TokenGrant:
        raise NotImplementedError

    def revoke(self, token: str) -> bool:
        self.revoked.append(token)
        if self.revoke_error is not None:
            raise self.revoke_error
        return True

    def userinfo(self, access_token: str) -> GoogleIdentity:
        if isinstance(self.identity, Exception):
            raise self.identity
        return self.identity


@dataclass
class World:
    database: MemoryDatabase
    site: Site
    google: FakeGoogle
    clock: SystemClock = field(default_factory=SystemClock)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.database)

    def start(self, browser: str = "b" * 43) -> str:
        with self.uow() as uow:
            link = consent.create_connect_link(
                uow, self.clock, self.site, public_url="https://svc.example",
                ttl_seconds=900, return_url=RETURN)
        token = link.url.rsplit("/", 1)[1]
        with self.uow() as uow:
            consent.start_consent(uow, self.clock, self.google, token=token, browser_id=browser)
        return self.google.states[-1]

    def finish(self, state: str, code: str | None = "4/code", error: str | None = None) -> Any:
        return finish_consent(self.uow, self.clock, self.google, state=state,
                              browser_id="b" * 43, code=code, error=error, check_interval=3600)

    def connections(self) -> list[Any]:
        with self.uow() as uow:
            return uow.connections.list_for_site(self.site.id)


@pytest.fixture
def world() -> Iterator[World]:
    database = MemoryDatabase(Keyring.parse(generate_key_entry("k1")))
    with UnitOfWork(database) as uow:
        site = add_site(uow, SystemClock(), name="Blog", origins=["https://blog.example.com"],
                        webhook_url=None).site
    yield World(database, site, FakeGoogle())


def reason(outcome: Any) -> str:
    return parse_qs(urlsplit(outcome.redirect_url).query)["reason"][0]


def test_a_connected_outcome_points_back_with_the_connection_id(world: World) -> None:
    outcome = world.finish(world.start())
    assert outcome.result is Result.CONNECTED
    query = parse_qs(urlsplit(outcome.redirect_url).query)
    assert query == {"page": ["gmail"], "gmail_oneclick": ["connected"],
                     "connection_id": [outcome.connection_id]}
    assert [c.id for c in world.connections()] == [outcome.connection_id]


@pytest.mark.parametrize("error", [TransientUpstream("x"), InvalidGrant("x")])
def test_a_failed_exchange_is_upstream_error_and_stores_nothing(world: World,
                                                               error: Exception) -> None:
    world.google.exchange = error
    outcome = world.finish(world.start())
    assert (outcome.result, reason(outcome)) == (Result.ERROR, "upstream_error")
    assert world.connections() == [] and world.google.revoked == []


def test_an_error_other_than_denial_or_a_missing_code_is_upstream_error(world: World) -> None:
    assert reason(world.finish(world.start(), code=None, error="server_error")) == "upstream_error"
    assert reason(world.finish(world.start(), code=None)) == "upstream_error"
    assert reason(world.finish(world.start(), code=None, error="access_denied")) == "access_denied"


def test_scope_missing_revokes_unless_the_account_is_connected_elsewhere(world: World) -> None:
    world.finish(world.start())  # alice is connected to the site now
    world.google.exchange = grant(frozenset({USERINFO_EMAIL, "openid"}))
    outcome = world.finish(world.start())
    assert outcome.result is Result.SCOPE_MISSING and reason(outcome) == "scope_missing"
    assert world.google.revoked == []
    world.google.identity = GoogleIdentity("2002", "bob@example.com", True)
    world.finish(world.start())
    assert world.google.revoked == ["1//0fake-refresh"]
    assert [c.email for c in world.connections()] == ["alice@example.com"]


def test_scope_missing_when_the_account_is_unknown_does_not_revoke(world: World) -> None:
    world.google.exchange = grant(frozenset({GMAIL_SEND}))
    world.google.identity = TransientUpstream("userinfo down")
    outcome = world.finish(world.start())
    assert outcome.result is Result.SCOPE_MISSING and world.google.revoked == []


def test_a_revoke_that_fails_still_shows_the_scope_page(world: World) -> None:
    world.google.exchange = grant(frozenset({USERINFO_EMAIL}))
    world.google.revoke_error = TransientUpstream("revoke down")
    assert world.finish(world.start()).result is Result.SCOPE_MISSING


def test_userinfo_failing_after_a_full_grant_is_upstream_error(world: World) -> None:
    world.google.identity = TransientUpstream("down")
    outcome = world.finish(world.start())
    assert reason(outcome) == "upstream_error" and world.connections() == []


def test_no_refresh_token_is_upstream_error_and_the_grant_is_revoked(world: World) -> None:
    world.google.exchange = grant(refresh=None)
    outcome = world.finish(world.start())
    assert reason(outcome) == "upstream_error" and world.connections() == []
    assert world.google.revoked == ["ya29.fake-access"]


def test_an_unverified_email_is_not_connected(world: World) -> None:
    world.google.identity = GoogleIdentity("3003", "eve@example.com", email_verified=False)
    outcome = world.finish(world.start())
    assert outcome.result is Result.UNVERIFIED and world.connections() == []


def test_the_pkce_challenge_is_s256_of_the_verifier() -> None:
    verifier = "dBjftJeZ4CVP-mJ92K9qpgWx2r0d8mJhnvdv3uVKbrY"
    assert consent.code_challenge(verifier) == s256(verifier)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://b.example/a", "https://b.example/a?gmail_oneclick=error&reason=expired"),
        ("https://b.example/a?x=1&reason=old#top",
         "https://b.example/a?x=1&gmail_oneclick=error&reason=expired#top"),
        ("https://b.example/a?gmail_oneclick=connected&connection_id=c1",
         "https://b.example/a?gmail_oneclick=error&reason=expired"),
    ],
)
def test_result_parameters_are_merged_into_the_return_url(url: str, expected: str) -> None:
    assert consent.result_url(url, gmail_oneclick="error", reason="expired") == expected


def test_a_new_link_repr_hides_its_token() -> None:
    link = consent.NewConnectLink("https://svc.example/connect/SECRET", datetime.now(UTC))
    assert "SECRET" not in repr(link)


def test_a_site_removed_while_the_admin_is_at_google_stores_nothing_and_revokes(
    world: World,
) -> None:
    from gmail_oneclick.services.consent_callback import StateRejected
    from gmail_oneclick.services.sites import remove_site

    state = world.start()
    real_exchange = world.google.exchange_code

    def exchange_then_site_removed(*, code: str, code_verifier: str) -> TokenGrant:
        with world.uow() as uow:
            remove_site(uow, world.clock, world.site.id)
        return real_exchange(code=code, code_verifier=code_verifier)

    world.google.exchange_code = exchange_then_site_removed  # type: ignore[method-assign]
    with pytest.raises(StateRejected):
        world.finish(state)
    with world.uow() as uow:
        assert uow.connections.list_for_site(world.site.id) == []
    assert world.google.revoked == ["1//0fake-refresh"]
