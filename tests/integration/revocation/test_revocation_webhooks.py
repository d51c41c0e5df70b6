"""Webhooks: Standard Webhooks signatures, retries with backoff, and receivers that misbehave."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from standardwebhooks import Webhook

from gmail_oneclick.adapters.storage.tables import webhook_outbox
from gmail_oneclick.adapters.webhook_http import RequestsWebhookTransport
from gmail_oneclick.domain.netpolicy import TargetPolicy
from gmail_oneclick.entrypoints import checker
from gmail_oneclick.services import webhooks
from tests.conftest import register_site


def _site_with_hook(container: Any, url: str) -> Any:
    return register_site(container, name="Hooked", origin="https://hooked.example.com",
                         webhook_url=url)


def _outbox(container: Any, site_id: str) -> list[dict[str, Any]]:
    with container.uow() as uow:
        rows: list[dict[str, Any]] = uow.outbox.list_for_site(site_id)
        return rows


def _make_due(container: Any) -> None:
    with container.engine.begin() as conn:
        conn.execute(update(webhook_outbox).values(
            next_attempt_at=container.clock.now() - timedelta(seconds=1)))


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


def test_revocation_webhook_arrives_signed_and_verifiable(
    client: Any, container: Any, link: Any, receiver: Any
) -> None:
    site = _site_with_hook(container, receiver.url)
    linked = link(site.id, "alice@example.com")
    client.delete(f"/v1/connections/{linked.id}", headers=site.auth)

    counts = checker.sweep(container)

    assert counts["webhooks_delivered"] == 1
    [request] = receiver.received
    payload = Webhook(site.webhook_secret).verify(request["body"], request["headers"])
    assert payload["type"] == "connection.revoked"
    assert payload["data"] == {"connection_id": linked.id, "email": "alice@example.com",
                               "reason": "disconnected"}
    assert payload["timestamp"].endswith("Z")
    assert request["headers"]["Webhook-Id"].startswith("msg_")


def test_a_forged_signature_does_not_verify(
    client: Any, container: Any, link: Any, receiver: Any
) -> None:
    site = _site_with_hook(container, receiver.url)
    other = _site_with_hook(container, receiver.url)
    linked = link(site.id)
    client.delete(f"/v1/connections/{linked.id}", headers=site.auth)
    checker.sweep(container)
    [request] = receiver.received
    try:
        Webhook(other.webhook_secret).verify(request["body"], request["headers"])
    except Exception as exc:  # standardwebhooks.WebhookVerificationError
        assert "signature" in str(exc).lower()
    else:
        raise AssertionError("another site's secret verified the webhook")


def test_a_failing_receiver_gets_retries_with_backoff_and_the_same_event_id(
    client: Any, container: Any, link: Any, receiver: Any
) -> None:
    receiver.status = 500
    site = _site_with_hook(container, receiver.url)
    linked = link(site.id)
    client.delete(f"/v1/connections/{linked.id}", headers=site.auth)

    assert checker.sweep(container)["webhooks_retried"] == 1
    [row] = _outbox(container, site.id)
    assert row["attempts"] == 1 and row["last_status"] == 500
    assert row["delivered_at"] is None
    assert checker.sweep(container)["webhooks_retried"] == 0  # not due yet: backing off

    receiver.status = 204
    _make_due(container)
    assert checker.sweep(container)["webhooks_delivered"] == 1
    first, second = receiver.received
    assert first["headers"]["Webhook-Id"] == second["headers"]["Webhook-Id"]
    [row] = _outbox(container, site.id)
    assert row["attempts"] == 2 and row["delivered_at"] is not None


def test_a_receiver_that_is_down_is_retried_and_blocks_nothing(
    client: Any, container: Any, link: Any
) -> None:
    site = _site_with_hook(container, _closed_port_url())
    linked = link(site.id)
    other = link(site.id, "bob@example.com")

    assert client.delete(f"/v1/connections/{linked.id}", headers=site.auth).status_code == 204
    counts = checker.sweep(container)

    assert counts["verified"] == 1  # bob's connection was still checked
    assert counts["webhooks_retried"] == 1
    assert other.id


def test_a_slow_receiver_never_blocks_a_sweep(
    client: Any, container: Any, link: Any, receiver: Any
) -> None:
    receiver.delay = 3.0
    site = _site_with_hook(container, receiver.url)
    linked = link(site.id)
    link(site.id, "bob@example.com")
    client.delete(f"/v1/connections/{linked.id}", headers=site.auth)

    started = time.monotonic()
    container.webhook_transport = RequestsWebhookTransport(
        TargetPolicy.from_settings(container.settings), read_timeout=0.3)
    counts = checker.sweep(container)
    elapsed = time.monotonic() - started

    assert counts["verified"] == 1
    assert counts["webhooks_retried"] == 1
    assert elapsed < receiver.delay


def test_delivery_gives_up_after_a_day(client: Any, container: Any, link: Any) -> None:
    site = _site_with_hook(container, _closed_port_url())
    linked = link(site.id)
    client.delete(f"/v1/connections/{linked.id}", headers=site.auth)
    with container.engine.begin() as conn:
        conn.execute(update(webhook_outbox).values(
            created_at=container.clock.now() - timedelta(days=1, minutes=1)))

    assert checker.sweep(container)["webhooks_failed"] == 1
    [row] = _outbox(container, site.id)
    assert row["failed_at"] is not None
    _make_due(container)
    assert checker.sweep(container)["webhooks_failed"] == 0  # never tried again


def test_two_deliverers_at_once_post_each_event_once(
    container: Any, link: Any, receiver: Any
) -> None:
    receiver.delay = 0.2
    site = _site_with_hook(container, receiver.url)
    with container.uow() as uow:
        for i in range(6):
            webhooks.enqueue_event(uow, container.clock, site_id=site.id, type_=webhooks.REVOKED,
                                   connection_id=f"conn_{i}", email=None, reason="disconnected")
        uow.commit()
    barrier = threading.Barrier(2)

    def deliver(owner: str) -> None:
        barrier.wait()
        webhooks.deliver_due(container.uow, container.webhook_transport, container.clock,
                             lease_owner=owner)

    threads = [threading.Thread(target=deliver, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    ids = [r["headers"]["Webhook-Id"] for r in receiver.received]
    assert len(ids) == 6 and len(set(ids)) == 6
