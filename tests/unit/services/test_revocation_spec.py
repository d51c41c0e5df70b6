"""Revocation (services.revocation): the checker's verification, Cross-Account Protection
(RISC) events, and the site's disconnect. Every trigger purges the same way."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gmail_oneclick.domain import errors
from gmail_oneclick.domain.model import REFRESH_TOKEN, Status
from gmail_oneclick.domain.security_events import SESSIONS_REVOKED, TOKEN_REVOKED, TOKENS_REVOKED
from gmail_oneclick.ports import InvalidGrant, TransientUpstream
from gmail_oneclick.services import handlers, revocation
from tests.unit.services.conftest import ALICE, BOB, World
from token_store import refresh_token_hash

DAY = 86400


def verify(world: World, cid: str) -> str:
    return revocation.verify_connection(world.uow, world.google, world.clock, cid,
                                        lease_owner="checker:1", interval=DAY)


def status(world: World, cid: str) -> Status:
    connection = world.connection(cid)
    assert connection is not None
    return connection.status


# ---- the checker ---------------------------------------------------------------------------


def test_a_verified_connection_is_checked_again_within_the_interval(world: World) -> None:
    cid = world.connect()
    assert verify(world, cid) == revocation.CHECK_OK
    next_check = world.connection(cid).next_check_at  # type: ignore[union-attr]
    assert next_check is not None
    assert timedelta(seconds=0.8 * DAY) <= next_check - world.clock.now() <= timedelta(days=1)


def test_the_checker_purges_a_grant_google_calls_invalid(world: World) -> None:
    cid = world.connect()
    world.google.refreshes.append(InvalidGrant("invalid_grant"))
    assert verify(world, cid) == revocation.CHECK_REVOKED
    assert status(world, cid) is Status.RECONNECT_REQUIRED
    assert world.secret(cid, REFRESH_TOKEN) is None


def test_the_checker_postpones_when_google_is_down_and_purges_nothing(world: World) -> None:
    cid = world.connect()
    world.google.refreshes.append(TransientUpstream("503", retry_after=600))
    assert verify(world, cid) == revocation.CHECK_TRANSIENT
    assert status(world, cid) is Status.CONNECTED
    next_check = world.connection(cid).next_check_at  # type: ignore[union-attr]
    assert next_check is not None and next_check - world.clock.now() >= timedelta(seconds=600)


def test_due_connections_are_claimed_by_one_checker(world: World) -> None:
    cid = world.connect()
    world.clock.advance(DAY + 1)
    now = world.clock.now()
    with world.uow() as uow:
        first = uow.connections.claim_due_for_check(now, limit=10, hold_until=now + timedelta(
            seconds=60))
        second = uow.connections.claim_due_for_check(now, limit=10, hold_until=now)
        uow.commit()
    assert (first, second) == ([cid], [])


# ---- RISC -----------------------------------------------------------------------------------


def security_event(event_type: str, subject: dict[str, Any], jti: str = "jti-1"
                   ) -> dict[str, Any]:
    return {"jti": jti, "events": {event_type: {"subject": subject}}}


def handle(world: World, claims: dict[str, Any]) -> revocation.SecurityEventResult:
    with world.uow() as uow:
        result = revocation.handle_security_event(uow, world.clock, claims)
        handlers.commit(uow, world.clock)
    return result


def test_tokens_revoked_purges_every_connection_of_the_account(world: World) -> None:
    alice, bob = world.connect(ALICE), world.connect(BOB)
    result = handle(world, security_event(TOKENS_REVOKED,
                                          {"subject_type": "iss-sub", "sub": ALICE.sub}))
    assert result.purged == [alice]
    assert status(world, alice) is Status.RECONNECT_REQUIRED
    assert status(world, bob) is Status.CONNECTED
    assert world.events()[-1]["reason"] == "risc_tokens_revoked"


def test_a_revoked_token_is_found_by_its_hash(world: World) -> None:
    cid = world.connect()
    subject = {"subject_type": "oauth_token", "token_identifier_alg": "hash_base64_sha512_sha512",
               "token": refresh_token_hash("1//refresh-1")}
    assert handle(world, security_event(TOKEN_REVOKED, subject)).purged == [cid]


def test_a_replayed_security_event_does_nothing_again(world: World) -> None:
    cid = world.connect()
    claims = security_event(TOKENS_REVOKED, {"subject_type": "email", "email": ALICE.email})
    handle(world, claims)
    world.connect(ALICE)  # reconnected since
    assert handle(world, claims).duplicate is True
    assert status(world, cid) is Status.CONNECTED


def test_sessions_revoked_schedules_a_check_now_instead_of_purging(world: World) -> None:
    cid = world.connect()
    result = handle(world, security_event(SESSIONS_REVOKED,
                                          {"subject_type": "iss-sub", "sub": ALICE.sub}))
    assert result.to_verify == [cid] and result.purged == []
    connection = world.connection(cid)
    assert connection is not None and connection.next_check_at == world.clock.now()
    assert connection.status is Status.CONNECTED


# ---- disconnect -----------------------------------------------------------------------------


def disconnect(world: World, cid: str, site_id: str | None = None) -> bool:
    return revocation.disconnect(world.uow, world.google, world.clock,
                                 site_id=site_id or world.site.id, connection_id=cid)


def test_disconnect_revokes_at_google_purges_and_tells_the_site(world: World) -> None:
    cid = world.connect()
    assert disconnect(world, cid) is True
    assert world.google.revoked == ["1//refresh-1"]
    assert status(world, cid) is Status.RECONNECT_REQUIRED
    assert world.secret(cid, REFRESH_TOKEN) is None
    assert world.events()[-1]["reason"] == "disconnected"


def test_disconnect_purges_even_when_google_cannot_be_reached(world: World) -> None:
    cid = world.connect()
    world.google.revoke_answers.append(TransientUpstream("down"))
    assert disconnect(world, cid) is False
    assert status(world, cid) is Status.RECONNECT_REQUIRED


def test_disconnect_does_not_revoke_a_grant_another_site_still_uses(world: World) -> None:
    from gmail_oneclick.services import sites

    with world.uow() as uow:
        other = sites.add_site(uow, world.clock, name="Shop",
                               origins=["https://blog.example.com"], webhook_url=None).site
    cid = world.connect()
    shared_site, world.site = world.site, other
    world.connect()  # the same Google account on the shop
    world.site = shared_site
    disconnect(world, cid)
    assert world.google.revoked == [] and status(world, cid) is Status.RECONNECT_REQUIRED


def test_another_sites_connection_cannot_be_disconnected(world: World) -> None:
    cid = world.connect()
    with pytest.raises(errors.NotFound):
        disconnect(world, cid, site_id="site_other")
    assert status(world, cid) is Status.CONNECTED and world.google.revoked == []
