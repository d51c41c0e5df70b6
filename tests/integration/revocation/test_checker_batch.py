"""The checker verifies a batch with many workers and few transactions, and still never
refreshes a connection someone else is refreshing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gmail_oneclick.domain.model import Status
from gmail_oneclick.entrypoints import checker
from gmail_oneclick.services import revocation
from tests.integration.revocation.conftest import connection_row, link_account


def test_a_connection_leased_by_a_send_is_skipped_and_keeps_that_lease(
    container: Any, sandbox: Any, site: Any
) -> None:
    busy = link_account(container, sandbox, site.id, "alice@example.com")
    free = link_account(container, sandbox, site.id, "bob@example.com")
    now = container.clock.now()
    with container.uow() as uow:  # a send (any process) is refreshing alice right now
        assert uow.leases.acquire(busy.id, "send:other", now, now + timedelta(seconds=15))
        uow.commit()

    counts = checker.sweep(container)

    assert (counts["claimed"], counts["verified"], counts["skipped"]) == (2, 1, 1)
    assert sandbox.state.refresh_count_for("alice@example.com") == 0
    assert sandbox.state.refresh_count_for("bob@example.com") == 1
    with container.uow() as uow:
        assert uow.leases.holder(busy.id)[0] == "send:other"
        assert uow.leases.holder(free.id) == (None, None)  # given back after recording
    row = connection_row(container, busy.id)
    assert row is not None and row.status is Status.CONNECTED
    assert row.next_check_at is not None and row.next_check_at > now  # tried again soon


def test_a_sweep_records_its_results_in_a_few_transactions_not_three_per_connection(
    container: Any, sandbox: Any, site: Any, monkeypatch: Any
) -> None:
    emails = [f"user{i}@example.com" for i in range(12)]
    for email in emails:
        link_account(container, sandbox, site.id, email)
    opened = []
    real_uow = container.uow

    def counting_uow(**kw: Any) -> Any:
        opened.append(1)
        return real_uow(**kw)

    monkeypatch.setattr(container, "uow", counting_uow)

    counts = checker._verify_due(container, "chk:test")

    assert counts[revocation.CHECK_OK] == len(emails)
    # claim, then record-and-lease a group or two: before, 1 + 3 per connection.
    assert len(opened) <= 5, len(opened)
    assert [sandbox.state.refresh_count_for(e) for e in emails] == [1] * len(emails)
    for cid in _ids(container):
        row = connection_row(container, cid)
        assert row is not None and row.last_verified_at is not None


def test_concurrency_is_chosen_for_the_database_unless_configured(container: Any) -> None:
    dialect = container.engine.dialect.name
    assert checker.concurrency(container) == {"postgresql": 64, "sqlite": 32}[dialect]
    assert checker.delivery_concurrency(container) == 4  # webhooks to sites: as before

    container.settings = container.settings.replace(checker_concurrency=7)

    assert checker.concurrency(container) == 7
    assert checker.delivery_concurrency(container) == 7


def _ids(container: Any) -> list[str]:
    from sqlalchemy import text

    with container.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT id FROM connections"))]
