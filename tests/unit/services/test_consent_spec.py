"""Consent, from the connect link to a stored connection (services.consent, consent_callback).

Upstream failures of the callback (exchange, userinfo, scopes, unverified email) are specified
in tests/unit/consent/test_consent_services.py; here: the link, the state, what is stored.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from gmail_oneclick.domain.model import GMAIL_SEND, USERINFO_EMAIL, Status
from gmail_oneclick.services import consent
from gmail_oneclick.services.consent_callback import Result, StateRejected
from tests.unit.services.conftest import ALICE, BOB, RETURN_URL, World


def test_a_submitted_link_sends_the_admin_to_google_with_pkce(world: World) -> None:
    with world.uow() as uow:
        link = consent.create_connect_link(uow, world.clock, world.site,
                                           public_url="https://svc.example", ttl_seconds=900,
                                           return_url=RETURN_URL, login_hint="a@example.com")
    token = link.url.rsplit("/", 1)[1]
    with world.uow() as uow:
        page = consent.open_link(uow, world.clock, token)
        url = consent.start_consent(uow, world.clock, world.google, token=token,
                                    browser_id="b" * 43)
    assert (page.site_name, page.login_hint) == ("Blog", "a@example.com")
    assert parse_qs(urlsplit(url).query)["code_challenge"][0]
    assert token not in url


def test_a_connect_link_is_spent_by_its_first_submit(world: World) -> None:
    with world.uow() as uow:
        link = consent.create_connect_link(uow, world.clock, world.site,
                                           public_url="https://svc.example", ttl_seconds=900,
                                           return_url=RETURN_URL)
    token = link.url.rsplit("/", 1)[1]
    with world.uow() as uow:
        consent.start_consent(uow, world.clock, world.google, token=token, browser_id="b" * 43)
    with world.uow() as uow, pytest.raises(consent.LinkGone):
        consent.start_consent(uow, world.clock, world.google, token=token, browser_id="b" * 43)


def test_an_expired_link_is_gone(world: World) -> None:
    with world.uow() as uow:
        link = consent.create_connect_link(uow, world.clock, world.site,
                                           public_url="https://svc.example", ttl_seconds=900,
                                           return_url=RETURN_URL)
    world.clock.advance(901)
    with world.uow() as uow, pytest.raises(consent.LinkGone):
        consent.open_link(uow, world.clock, link.url.rsplit("/", 1)[1])


def test_consent_stores_a_connected_connection_its_tokens_and_tells_the_site(
    world: World,
) -> None:
    cid = world.connect(ALICE)
    connection = world.connection(cid)
    assert connection is not None and connection.status is Status.CONNECTED
    assert (connection.email, connection.scopes) == ("alice@example.com",
                                                     frozenset({GMAIL_SEND, USERINFO_EMAIL}))
    assert world.secret(cid, "refresh_token") == b"1//refresh-1"
    assert world.secret(cid, "access_token") == b"ya29.access-1"
    assert world.audit(cid) == ["connection:connected"]
    assert world.events() == [{"type": "connection.connected", "connection_id": cid,
                               "email": "alice@example.com", "reason": None}]
    assert len(world.committed_events) == 1  # handed to the dispatcher once committed


def test_a_replayed_callback_is_refused_and_connects_nothing_more(world: World) -> None:
    state = world.start()
    assert world.finish(state).result is Result.CONNECTED
    with pytest.raises(StateRejected):
        world.finish(state)
    assert len(world.connections()) == 1 and world.google.issued == 1


def test_a_callback_in_another_browser_is_refused_but_the_admins_own_still_works(
    world: World,
) -> None:
    state = world.start()
    with pytest.raises(StateRejected):
        world.finish(state, browser="x" * 43)
    assert world.finish(state).result is Result.CONNECTED


def test_a_state_older_than_ten_minutes_is_refused(world: World) -> None:
    state = world.start()
    world.clock.advance(601)
    with pytest.raises(StateRejected):
        world.finish(state)
    assert world.connections() == []


def test_a_denied_consent_points_back_with_access_denied_and_stores_nothing(
    world: World,
) -> None:
    outcome = world.finish(world.start(), code=None, error="access_denied")
    assert (outcome.result, outcome.reason) == (Result.ERROR, "access_denied")
    assert outcome.redirect_url.startswith("https://blog.example.com/wp-admin/")
    assert world.connections() == [] and world.google.revoked == []


def test_scope_missing_stores_nothing_and_revokes_the_unused_grant(world: World) -> None:
    world.google.exchanges.append(world.google.grant(frozenset({USERINFO_EMAIL})))
    outcome = world.finish(world.start())
    assert (outcome.result, outcome.reason) == (Result.SCOPE_MISSING, "scope_missing")
    assert world.connections() == [] and world.google.revoked == ["1//refresh-1"]


def test_reconnecting_the_same_account_keeps_the_connection_id_with_new_tokens(
    world: World,
) -> None:
    first = world.connect(ALICE)
    with world.uow() as uow:
        uow.connections.mark_reconnect_required(first, "invalid_grant", world.clock.now())
        uow.commit()
    assert world.connect(ALICE) == first
    connection = world.connection(first)
    assert connection is not None and connection.status is Status.CONNECTED
    assert connection.revocation_reason is None
    assert world.secret(first, "refresh_token") == b"1//refresh-2"
    assert world.connect(BOB) != first
