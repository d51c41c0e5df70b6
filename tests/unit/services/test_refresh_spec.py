"""Refreshing access tokens (services.tokens): one refresher per connection under a lease,
transient failures change nothing, only invalid_grant purges."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gmail_oneclick.domain import errors
from gmail_oneclick.domain.model import ACCESS_TOKEN, REFRESH_TOKEN, Status
from gmail_oneclick.ports import InvalidGrant, TransientUpstream, UpstreamMisconfigured
from gmail_oneclick.services import tokens
from tests.unit.services.conftest import World
from token_store import refresh_token_hash


def refresh(world: World, cid: str, owner: str = "checker:1") -> str:
    return tokens.refresh_connection(world.uow, world.google, world.clock, cid,
                                     lease_owner=owner).status


def hold_lease(world: World, cid: str, owner: str, seconds: int) -> None:
    with world.uow() as uow:
        now = world.clock.now()
        assert uow.leases.acquire(cid, owner, now, now + timedelta(seconds=seconds))
        uow.commit()


def test_a_refresh_stores_the_new_token_and_gives_the_lease_back(world: World) -> None:
    cid = world.connect()
    assert refresh(world, cid) == "refreshed"
    assert world.secret(cid, ACCESS_TOKEN) == b"ya29.access-2"
    with world.uow() as uow:
        assert uow.leases.holder(cid) == (None, None)
        assert uow.connections.get(cid).last_verified_at == world.clock.now()  # type: ignore[union-attr]


def test_a_rotated_refresh_token_is_what_risc_finds_the_connection_by(world: World) -> None:
    cid = world.connect()
    world.google.refreshes.append(world.google.grant(refresh="1//rotated-refresh"))
    refresh(world, cid)
    with world.uow() as uow:
        owners = uow.tokens.owners_by_token_hash(refresh_token_hash("1//rotated-refresh"))
    assert owners == [f"connection:{cid}"]


def test_a_connection_leased_by_someone_else_is_not_refreshed_twice(world: World) -> None:
    cid = world.connect()
    hold_lease(world, cid, "send:other", 15)
    assert refresh(world, cid) == "busy" and world.google.refreshed_with == []


def test_a_send_waiting_for_another_refresh_gets_503_with_the_rest_of_the_lease(
    world: World,
) -> None:
    cid = world.connect()
    world.expire_access_token(cid)
    hold_lease(world, cid, "send:other", 15)
    world.clock.advance(5)
    with pytest.raises(errors.UpstreamUnavailable) as raised:
        tokens.access_token(world.uow, world.google, world.clock, cid, wait_seconds=0,
                            sleep=lambda _: None)
    assert raised.value.retry_after == 10 and world.google.refreshed_with == []


def test_a_lapsed_lease_is_taken_over(world: World) -> None:
    cid = world.connect()
    world.expire_access_token(cid)
    hold_lease(world, cid, "send:crashed", 15)
    world.clock.advance(16)
    assert tokens.access_token(world.uow, world.google, world.clock, cid) == "ya29.access-2"


@pytest.mark.parametrize(("failure", "outcome"), [
    (TransientUpstream("503", retry_after=9), "transient"),
    (UpstreamMisconfigured("invalid_client"), "misconfigured"),
])
def test_google_failing_changes_nothing_and_frees_the_lease(world: World, failure: Exception,
                                                           outcome: str) -> None:
    cid = world.connect()
    world.google.refreshes.append(failure)
    assert refresh(world, cid) == outcome
    connection = world.connection(cid)
    assert connection is not None and connection.status is Status.CONNECTED
    assert world.secret(cid, REFRESH_TOKEN) == b"1//refresh-1"
    assert refresh(world, cid, owner="checker:2") == "refreshed"  # lease released


def test_invalid_grant_purges_the_connection_and_tells_the_site(world: World) -> None:
    cid = world.connect()
    world.google.refreshes.append(InvalidGrant("invalid_grant"))
    assert refresh(world, cid) == "revoked"
    connection = world.connection(cid)
    assert connection is not None and connection.status is Status.RECONNECT_REQUIRED
    assert world.secret(cid, REFRESH_TOKEN) is None
    assert world.secret(cid, ACCESS_TOKEN) is None
    assert world.audit(cid)[-1] == "connection:revoked"
    assert world.events()[-1] == {"type": "connection.revoked", "connection_id": cid,
                                  "email": "alice@example.com", "reason": "invalid_grant"}
    assert refresh(world, cid) == "not_connected"


def test_a_token_gmail_rejected_is_never_handed_out_again(world: World) -> None:
    cid = world.connect()
    token = tokens.access_token(world.uow, world.google, world.clock, cid,
                                rejected="ya29.access-1")
    assert token == "ya29.access-2"
