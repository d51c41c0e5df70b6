"""Tables stay bounded: the checker deletes audit events, Idempotency-Key records and finished
webhook events once their retention has passed, in short batches, and says how many."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from gmail_oneclick.adapters.storage.tables import audit_events, idempotency_keys, webhook_outbox
from gmail_oneclick.entrypoints import checker
from gmail_oneclick.services import retention, webhooks
from tests.conftest import register_site


def _audit(container: Any, at: datetime, n: int = 1) -> None:
    with container.engine.begin() as conn:
        conn.execute(insert(audit_events), [{"at": at, "type": "message:sent", "data": {}}] * n)


def _idempotency(container: Any, site_id: str, key: str, at: datetime) -> None:
    with container.engine.begin() as conn:
        conn.execute(insert(idempotency_keys).values(
            site_id=site_id, key_hash=key.ljust(64, "0"), created_at=at, state="done"))


def _webhook(container: Any, site_id: str, id_: str, at: datetime, **finished: Any) -> None:
    with container.engine.begin() as conn:
        conn.execute(insert(webhook_outbox).values(
            id=id_, site_id=site_id, type=webhooks.REVOKED, payload={}, created_at=at,
            next_attempt_at=at + timedelta(days=30), attempts=1, **finished))


def _count(container: Any, table: Any) -> int:
    with container.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _ids(container: Any) -> set[str]:
    with container.engine.connect() as conn:
        return set(conn.execute(select(webhook_outbox.c.id)).scalars())


def test_a_sweep_deletes_what_outlived_its_retention_and_reports_it(container: Any) -> None:
    settings = container.settings
    now = container.clock.now()
    site = register_site(container)
    audit_before = _count(container, audit_events)
    _audit(container, now - timedelta(days=settings.audit_retention_days, minutes=1), n=3)
    _audit(container, now - timedelta(days=settings.audit_retention_days - 1))
    _idempotency(container, site.id, "old", now - timedelta(hours=25))
    _idempotency(container, site.id, "new", now - timedelta(hours=23))
    old = now - timedelta(days=settings.webhook_retention_days, minutes=1)
    _webhook(container, site.id, "msg_delivered_old", old, delivered_at=old)
    _webhook(container, site.id, "msg_failed_old", old, failed_at=old)
    _webhook(container, site.id, "msg_pending_old", old)  # never finished: not ours to drop
    _webhook(container, site.id, "msg_delivered_new", now - timedelta(days=1),
             delivered_at=now - timedelta(days=1))

    counts = checker.sweep(container)

    assert counts["audit_events_pruned"] == 3
    assert counts["idempotency_records_pruned"] == 1
    assert counts["webhook_events_pruned"] == 2
    assert _count(container, audit_events) == audit_before + 1
    assert _count(container, idempotency_keys) == 1
    assert _ids(container) == {"msg_pending_old", "msg_delivered_new"}
    assert checker.sweep(container)["audit_events_pruned"] == 0


def test_retention_follows_the_settings(container: Any) -> None:
    now = container.clock.now()
    _audit(container, now - timedelta(days=10))
    kept = retention.Retention(audit_days=30, idempotency_hours=24, webhook_days=7)
    shorter = retention.Retention(audit_days=9, idempotency_hours=24, webhook_days=7)

    assert retention.prune(container.uow, container.clock, kept)["audit_events_pruned"] == 0
    assert retention.prune(container.uow, container.clock, shorter)["audit_events_pruned"] == 1


def test_a_backlog_is_deleted_in_short_transactions_bounded_per_sweep(container: Any) -> None:
    _audit(container, container.clock.now() - timedelta(days=400), n=25)
    deleted_per_transaction: list[int] = []

    @contextmanager
    def counting_uow() -> Iterator[Any]:
        with container.uow() as uow:
            before = _count(container, audit_events)
            yield uow
        deleted_per_transaction.append(before - _count(container, audit_events))

    policy = retention.Retention(audit_days=1, idempotency_hours=24, webhook_days=1)
    first = retention.prune(counting_uow, container.clock, policy, batch=10, max_batches=2)
    assert first["audit_events_pruned"] == 20  # two transactions of 10, then the sweep moves on
    assert deleted_per_transaction[:2] == [10, 10]
    second = retention.prune(counting_uow, container.clock, policy, batch=10, max_batches=2)
    assert second["audit_events_pruned"] == 5
    assert max(deleted_per_transaction) <= 10


def _sweep_levels(caplog: pytest.LogCaptureFixture, container: Any) -> list[str]:
    caplog.clear()
    checker.sweep(container)
    return [r.levelname for r in caplog.records if r.getMessage() == "checker sweep"]


def test_only_a_sweep_that_did_something_is_logged_at_info(
    container: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert _sweep_levels(caplog, container) == ["DEBUG"]  # idle: nothing for the operator
    _audit(container, container.clock.now() - timedelta(
        days=container.settings.audit_retention_days, minutes=1))
    assert _sweep_levels(caplog, container) == ["INFO"]
