"""Webhooks (services.webhooks): queued with the change they announce, posted signed once
committed, retried with backoff until delivered or a day has passed."""

from __future__ import annotations

import json
from datetime import datetime

from standardwebhooks import Webhook

from gmail_oneclick.services import webhooks
from tests.unit.services.conftest import World


def deliver_due(world: World, owner: str = "checker:1") -> webhooks.DeliveryCounts:
    return webhooks.deliver_due(world.uow, world.transport, world.clock, lease_owner=owner,
                                concurrency=1)


def outbox_row(world: World, event_id: str) -> dict[str, object]:
    with world.uow() as uow:
        row = uow.outbox.get(event_id)
    assert row is not None
    return row


def test_an_event_is_queued_with_its_change_and_handed_over_on_commit(world: World) -> None:
    cid = world.connect()
    assert len(world.committed_events) == 1
    event_id = world.committed_events[0]
    assert webhooks.deliver_event(world.uow, world.transport, world.clock, event_id,
                                  lease_owner="web:1") == "delivered"
    url, body, headers = world.transport.posts[0]
    assert url == "https://blog.example.com/hook" and headers["webhook-id"] == event_id
    # Signed with the site's secret at the (fake) time of sending.
    signature = Webhook(world.webhook_secret).sign(event_id, world.clock.now(), body.decode())
    assert headers["webhook-signature"] == signature
    assert headers["webhook-timestamp"] == str(int(world.clock.now().timestamp()))
    payload = json.loads(body)
    assert (payload["type"], payload["data"]["connection_id"]) == ("connection.connected", cid)


def test_nothing_is_queued_when_the_change_rolls_back(world: World) -> None:
    with world.uow() as uow:
        webhooks.enqueue_event(uow, world.clock, site_id=world.site.id,
                               type_=webhooks.REVOKED, connection_id="conn_x", email=None)
    assert world.events() == [] and world.committed_events == []


def test_a_delivered_event_is_not_posted_again(world: World) -> None:
    world.connect()
    assert deliver_due(world).delivered == 1
    world.clock.advance(3600)
    assert deliver_due(world).delivered == 0 and len(world.transport.posts) == 1
    assert webhooks.deliver_event(world.uow, world.transport, world.clock,
                                  world.committed_events[0], lease_owner="web:1") is None


def test_a_failed_post_is_retried_later_with_the_same_id(world: World) -> None:
    world.connect()
    world.transport.statuses += [500, 0]
    assert deliver_due(world).retried == 1
    assert deliver_due(world).retried == 0  # backing off: not due yet
    world.clock.advance(webhooks.FIRST_RETRY_SECONDS)
    assert deliver_due(world).retried == 1
    world.clock.advance(2 * webhooks.FIRST_RETRY_SECONDS)
    assert deliver_due(world).delivered == 1
    ids = {headers["webhook-id"] for _, _, headers in world.transport.posts}
    assert len(world.transport.posts) == 3 and len(ids) == 1
    assert outbox_row(world, ids.pop())["attempts"] == 3


def test_an_event_undelivered_for_a_day_is_given_up(world: World) -> None:
    world.connect()
    world.transport.statuses += [503, 503]
    deliver_due(world)
    world.clock.advance(86400)
    assert deliver_due(world).failed == 1
    row = outbox_row(world, world.committed_events[0])
    assert isinstance(row["failed_at"], datetime) and row["last_status"] == 503
    world.clock.advance(86400)
    assert deliver_due(world).failed == 0 and len(world.transport.posts) == 2


def test_an_event_leased_by_one_deliverer_is_not_posted_by_another(world: World) -> None:
    world.connect()
    with world.uow() as uow:
        now = world.clock.now()
        claimed = uow.outbox.claim_due(now, limit=10, lease_owner="web:1",
                                       lease_until=now + webhooks.GIVE_UP_AFTER)
        uow.commit()
    assert len(claimed) == 1
    assert deliver_due(world, owner="checker:1").delivered == 0
    assert world.transport.posts == []


def test_the_payload_names_the_connection_and_never_a_token(world: World) -> None:
    world.connect()
    deliver_due(world)
    body = world.transport.posts[0][1]
    assert set(json.loads(body)) == {"type", "timestamp", "data"}
    assert b"ya29." not in body and b"1//" not in body
