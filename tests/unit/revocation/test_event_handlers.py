"""Connection events and their one handler: a recorded event becomes the purge, the audit
record and the webhook of its transaction, exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gmail_oneclick.adapters.memory import MemoryDatabase, UnitOfWork
from gmail_oneclick.domain.events import ConnectionConnected, ConnectionRevoked
from gmail_oneclick.domain.model import (
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    REQUIRED_SCOPES,
    Connection,
    RevocationReason,
    Site,
    Status,
    connection_owner,
)
from gmail_oneclick.ports import SystemClock
from gmail_oneclick.services import handlers
from gmail_oneclick.services.sites import add_site
from token_store import Keyring, generate_key_entry

CLOCK = SystemClock()


@dataclass
class World:
    database: MemoryDatabase
    site: Site
    connection: Connection

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.database)

    def revoked(self, reason: RevocationReason = RevocationReason.INVALID_GRANT
                ) -> ConnectionRevoked:
        return ConnectionRevoked.of(self.connection, reason, trigger="refresh")

    def record(self, *events: Any) -> None:
        with self.uow() as uow:
            for event in events:
                uow.record(event)
            handlers.commit(uow, CLOCK)

    def audit(self) -> list[dict[str, Any]]:
        with self.uow() as uow:
            return uow.audit.for_connection(self.connection.id)

    def webhooks(self) -> list[dict[str, Any]]:
        with self.uow() as uow:
            return [e["payload"] for e in uow.outbox.list_for_site(self.site.id)]


@pytest.fixture
def world() -> Iterator[World]:
    database = MemoryDatabase(Keyring.parse(generate_key_entry("k1")))
    now = CLOCK.now()
    connection = Connection(
        id="conn_alice", site_id="", google_sub="1001", email="alice@example.com",
        status=Status.CONNECTED, scopes=REQUIRED_SCOPES, created_at=now, last_verified_at=now,
        revoked_at=None, revocation_reason=None)
    with UnitOfWork(database) as uow:
        site = add_site(uow, CLOCK, name="Blog", origins=["https://blog.example.com"],
                        webhook_url="https://blog.example.com/hook").site
        connection = Connection(**{**connection.__dict__, "site_id": site.id})
        uow.connections.add(connection)
        owner = connection_owner(connection.id)
        uow.tokens.put(owner, REFRESH_TOKEN, b"1//0refresh-secret")
        uow.tokens.put(owner, ACCESS_TOKEN, b"ya29.access-secret")
        uow.tokens.index_refresh_token(owner, "1//0refresh-secret")
        uow.commit()
    yield World(database, site, connection)


def test_a_revoked_event_purges_audits_and_queues_the_webhook(world: World) -> None:
    world.record(world.revoked())

    with world.uow() as uow:
        row = uow.connections.get(world.connection.id)
        owner = connection_owner(world.connection.id)
        assert uow.tokens.get(owner, REFRESH_TOKEN) is None
        assert uow.tokens.get(owner, ACCESS_TOKEN) is None
        assert uow.tokens.owners_by_token_prefix("1//0refresh-secret"[:16]) == []
    assert row is not None and row.status is Status.RECONNECT_REQUIRED
    assert row.revocation_reason == "invalid_grant" and row.revoked_at is not None
    assert [(e["type"], e["data"]) for e in world.audit()] == [
        ("connection:revoked", {"reason": "invalid_grant", "trigger": "refresh"})]
    [hook] = world.webhooks()
    assert hook["type"] == "connection.revoked"
    assert hook["data"] == {"connection_id": world.connection.id, "email": "alice@example.com",
                            "reason": "invalid_grant"}


def test_a_second_revocation_keeps_the_first_reason_and_announces_nothing(world: World) -> None:
    world.record(world.revoked())
    world.record(world.revoked(RevocationReason.DISCONNECTED), world.revoked())

    with world.uow() as uow:
        row = uow.connections.get(world.connection.id)
    assert row is not None and row.revocation_reason == "invalid_grant"
    assert len(world.audit()) == 1 and len(world.webhooks()) == 1


def test_a_withheld_email_stays_out_of_the_webhook(world: World) -> None:
    world.record(ConnectionRevoked.of(world.connection, RevocationReason.FORGOTTEN,
                                      trigger="privacy_forget", email_in_webhook=False))
    assert world.webhooks()[0]["data"]["email"] is None


def test_a_connected_event_audits_and_queues_the_webhook(world: World) -> None:
    world.record(ConnectionConnected(world.connection.id, world.site.id, "alice@example.com",
                                     tuple(sorted(REQUIRED_SCOPES)), reconnected=True))

    assert [(e["type"], e["data"]) for e in world.audit()] == [
        ("connection:connected", {"outcome": "reconnected", "scopes": sorted(REQUIRED_SCOPES)})]
    [hook] = world.webhooks()
    assert hook["type"] == "connection.connected"
    assert hook["data"] == {"connection_id": world.connection.id, "email": "alice@example.com",
                            "reason": None}


def test_a_commit_with_unhandled_events_refuses_and_writes_nothing(world: World) -> None:
    with world.uow() as uow:
        uow.audit.record("message:sent", CLOCK.now(), connection_id=world.connection.id)
        uow.record(world.revoked())
        with pytest.raises(RuntimeError):
            uow.commit()
    assert world.audit() == []
    with world.uow() as uow:
        assert uow.tokens.get(connection_owner(world.connection.id), REFRESH_TOKEN)


def test_events_of_a_rolled_back_unit_of_work_are_dropped(world: World) -> None:
    uow = world.uow()
    with uow:
        uow.record(world.revoked())
    with uow:  # the same unit of work again: nothing recorded before leaks in
        uow.commit()
    assert world.audit() == []
