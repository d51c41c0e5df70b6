"""Data-subject rights (services.privacy): an export holds no secret, forget leaves nothing
that names the account."""

from __future__ import annotations

import json

import pytest

from gmail_oneclick.domain import errors
from gmail_oneclick.domain.model import REFRESH_TOKEN
from gmail_oneclick.ports import TransientUpstream
from gmail_oneclick.services import connections, privacy
from tests.unit.services.conftest import ALICE, BOB, World

RETENTION = {"audit_days": 90}


def export(world: World, email: str) -> dict[str, object]:
    with world.uow() as uow:
        return privacy.export_email(uow, email, retention=RETENTION)


def forget(world: World, email: str) -> int:
    return privacy.forget_email(world.uow, world.google, world.clock, email)


def test_an_export_lists_the_accounts_connections_and_events_but_no_secret(
    world: World,
) -> None:
    cid = world.connect(ALICE)
    world.connect(BOB)
    world.send()
    exported = export(world, " Alice@Example.com ")
    text = json.dumps(exported)
    assert exported["email"] == "Alice@Example.com" and exported["retention"] == RETENTION
    assert [c["id"] for c in exported["connections"]] == [cid]  # type: ignore[attr-defined]
    assert "connection:connected" in text and "message:sent" in text
    assert "bob@example.com" not in text
    assert "1//refresh" not in text and "ya29." not in text


def test_an_unknown_email_exports_nothing_and_forgets_nothing(world: World) -> None:
    world.connect()
    assert export(world, "nobody@example.com")["connections"] == []
    assert forget(world, "nobody@example.com") == 0 and world.google.revoked == []


def test_forget_revokes_purges_and_the_connection_is_no_longer_visible(world: World) -> None:
    cid = world.connect(ALICE)
    assert forget(world, "alice@example.com") == 1
    assert world.google.revoked == ["1//refresh-1"]
    assert world.secret(cid, REFRESH_TOKEN) is None
    with world.uow() as uow, pytest.raises(errors.NotFound):
        connections.get_for_site(uow, world.site.id, cid)
    assert export(world, "alice@example.com")["connections"] == []


def test_forget_leaves_no_email_in_webhook_events_or_the_audit_trail(world: World) -> None:
    cid = world.connect(ALICE)
    forget(world, "alice@example.com")
    assert all(event["email"] is None for event in world.events())
    assert world.events()[-1]["type"] == "connection.revoked"
    with world.uow() as uow:
        events = uow.audit.for_connection(cid)
    assert events and all(event["data"] == {} for event in events)
    assert "alice" not in json.dumps(events, default=str)


def test_forget_happens_even_when_google_cannot_be_reached(world: World) -> None:
    cid = world.connect(ALICE)
    world.google.revoke_answers.append(TransientUpstream("down"))
    assert forget(world, "alice@example.com") == 1
    assert world.connection(cid) is None
