"""Webhooks arrive at once: the process that committed the event posts it, without waiting for
the checker, and a concurrent checker sweep never posts the same event a second time."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import update
from standardwebhooks import Webhook

from gmail_oneclick.adapters.storage.tables import webhook_outbox
from gmail_oneclick.adapters.webhook_dispatch import WebhookDispatcher
from gmail_oneclick.entrypoints import checker
from gmail_oneclick.settings import Settings
from tests.conftest import register_site
from tests.integration.revocation.conftest import wait_until


class LoopbackTransport:
    """Posts to the loopback receiver as the real transport does (its address rules are tested
    in tests/security); counts what it posted."""

    def __init__(self) -> None:
        self.posts = 0

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.posts += 1
        try:
            return requests.post(url, data=body, headers=headers, timeout=5).status_code
        except requests.RequestException:
            return 0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(webhook_dispatch_threads=Settings.webhook_dispatch_threads)


@pytest.fixture
def transport(container: Any) -> LoopbackTransport:
    container.webhook_transport = LoopbackTransport()
    return container.webhook_transport  # type: ignore[no-any-return]


def _hooked(container: Any, receiver: Any) -> Any:
    return register_site(container, name="Hooked", origin="https://hooked.example.com",
                         webhook_url=receiver.url)


def _rows(container: Any, site_id: str) -> list[dict[str, Any]]:
    with container.uow() as uow:
        rows: list[dict[str, Any]] = uow.outbox.list_for_site(site_id)
        return rows


def test_a_delete_delivers_its_webhook_within_a_second_without_a_sweep(
    client: Any, container: Any, link: Any, receiver: Any, transport: LoopbackTransport
) -> None:
    site = _hooked(container, receiver)
    linked = link(site.id, "alice@example.com")

    started = time.monotonic()
    assert client.delete(f"/v1/connections/{linked.id}", headers=site.auth).status_code == 204
    assert wait_until(lambda: receiver.received, timeout=1.0), "no webhook within a second"
    elapsed = time.monotonic() - started

    payload = Webhook(site.webhook_secret).verify(receiver.received[0]["body"],
                                                  receiver.received[0]["headers"])
    assert payload["type"] == "connection.revoked"
    assert payload["data"]["connection_id"] == linked.id
    assert elapsed < 1.0
    [row] = wait_until(lambda: [r for r in _rows(container, site.id) if r["delivered_at"]])
    assert row["attempts"] == 1 and row["lease_owner"] is None


def test_a_risc_push_delivers_its_webhook_within_a_second_without_a_sweep(
    container: Any, risc_push: Any, link: Any, receiver: Any, transport: LoopbackTransport
) -> None:
    site = _hooked(container, receiver)
    linked = link(site.id, "alice@example.com")

    started = time.monotonic()
    assert all(s == 202 for s in risc_push.remove_access("alice@example.com"))
    assert wait_until(lambda: receiver.received, timeout=1.0), "no webhook within a second"
    assert time.monotonic() - started < 1.0

    [request] = receiver.received
    payload = Webhook(site.webhook_secret).verify(request["body"], request["headers"])
    assert payload["type"] == "connection.revoked"
    assert payload["data"] == {"connection_id": linked.id, "email": "alice@example.com",
                               "reason": "risc_tokens_revoked"}


def test_each_event_is_posted_once_while_checker_sweeps_run_concurrently(
    client: Any, container: Any, link: Any, receiver: Any, transport: LoopbackTransport
) -> None:
    receiver.delay = 0.05  # posts overlap with the sweeps
    site = _hooked(container, receiver)
    linked = [link(site.id, f"user{i}@example.com") for i in range(6)]
    stop = threading.Event()
    swept: list[int] = []

    def sweeping() -> None:
        while not stop.is_set():
            swept.append(checker.sweep(container)["webhooks_delivered"])

    sweeper = threading.Thread(target=sweeping)
    sweeper.start()
    try:
        for c in linked:
            assert client.delete(f"/v1/connections/{c.id}", headers=site.auth).status_code == 204
        container.dispatcher().wait_idle()
    finally:
        stop.set()
        sweeper.join(timeout=30)
    checker.sweep(container)  # whatever is left (none should be)

    ids = [r["headers"]["Webhook-Id"] for r in receiver.received]
    assert len(ids) == len(linked) and len(set(ids)) == len(linked)
    assert all(r["delivered_at"] is not None for r in _rows(container, site.id))
    assert transport.posts == len(linked)


def test_a_failed_immediate_delivery_is_retried_by_the_sweep(
    client: Any, container: Any, link: Any, receiver: Any, transport: LoopbackTransport
) -> None:
    receiver.status = 503
    site = _hooked(container, receiver)
    linked = link(site.id)
    client.delete(f"/v1/connections/{linked.id}", headers=site.auth)
    [row] = wait_until(lambda: [r for r in _rows(container, site.id) if r["attempts"] == 1])
    assert row["delivered_at"] is None and row["last_status"] == 503

    receiver.status = 204
    with container.engine.begin() as conn:  # the backoff has passed
        conn.execute(update(webhook_outbox).values(
            next_attempt_at=container.clock.now() - timedelta(seconds=1)))
    assert checker.sweep(container)["webhooks_delivered"] == 1
    first, second = receiver.received
    assert first["headers"]["Webhook-Id"] == second["headers"]["Webhook-Id"]


def test_a_full_queue_leaves_the_event_for_the_sweep(
    client: Any, container: Any, link: Any, receiver: Any
) -> None:
    release = threading.Event()

    class Stuck(LoopbackTransport):
        def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
            release.wait(10)
            return super().post(url, body, headers)

    site = _hooked(container, receiver)
    first, second, third = (link(site.id, f"u{i}@example.com") for i in range(3))
    dispatcher = WebhookDispatcher(container.uow, Stuck, container.clock, threads=1,
                                   queue_size=1)
    container._dispatcher = dispatcher  # one thread, room for one waiting event
    try:
        for c in (first, second, third):
            client.delete(f"/v1/connections/{c.id}", headers=site.auth)
            if c is first:  # the thread has taken the first event and is stuck posting it
                wait_until(lambda: dispatcher._queue.qsize() == 0)
                time.sleep(0.05)
        release.set()
        dispatcher.wait_idle()
    finally:
        release.set()
        dispatcher.stop()
    assert len(receiver.received) == 2
    container.webhook_transport = LoopbackTransport()
    assert checker.sweep(container)["webhooks_delivered"] == 1
    assert len({r["headers"]["Webhook-Id"] for r in receiver.received}) == 3
