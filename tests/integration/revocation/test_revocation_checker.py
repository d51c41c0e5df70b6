"""The checker: one sweep verifies due connections against the sandbox and purges dead ones."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest

from gmail_oneclick.domain.model import Status
from gmail_oneclick.entrypoints import checker
from tests.conftest import register_site
from tests.integration.revocation.conftest import (
    connection_row,
    database_contains,
    link_account,
    run_cli,
    stored_secret,
)


def test_sweep_catches_a_revocation_made_in_the_google_account(
    container: Any, sandbox: Any, link: Any, site: Any
) -> None:
    revoked = link(site.id, "alice@example.com")
    alive = link(site.id, "bob@example.com")
    sandbox.state.revoke_grant("alice@example.com")  # "Remove access", no RISC push

    counts = checker.sweep(container)

    assert counts["claimed"] == 2
    assert counts["revoked"] == 1 and counts["verified"] == 1
    row = connection_row(container, revoked.id)
    assert (row.status, row.revocation_reason) == (Status.RECONNECT_REQUIRED, "invalid_grant")
    assert not database_contains(container, revoked.refresh_token)
    assert not database_contains(container, revoked.access_token)
    assert connection_row(container, alive.id).status is Status.CONNECTED
    assert connection_row(container, alive.id).last_verified_at is not None


def test_checker_once_on_the_command_line_catches_a_revocation(
    settings: Any, container: Any, sandbox: Any, link: Any, site: Any
) -> None:
    linked = link(site.id, "alice@example.com")
    sandbox.state.revoke_grant("alice@example.com")

    proc = run_cli(["checker", "--once"], settings)

    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout)
    assert counts["revoked"] == 1, (counts, proc.stderr[-3000:])
    assert connection_row(container, linked.id).status is Status.RECONNECT_REQUIRED
    assert not database_contains(container, linked.refresh_token)


@pytest.mark.parametrize("fault", ["503", "500", "429", "timeout", "invalid_client"])
def test_transient_and_configuration_failures_purge_nothing(
    container: Any, sandbox: Any, link: Any, site: Any, fault: str
) -> None:
    linked = link(site.id, "alice@example.com")
    sandbox.state.slow_seconds = 1.5
    container.google._timeout = 0.5  # so the injected timeout costs half a second
    sandbox.state.inject_token_fault(fault, count=5)

    counts = checker.sweep(container)

    assert counts["revoked"] == 0
    assert counts["transient"] + counts["errors"] == 1
    row = connection_row(container, linked.id)
    assert row.status is Status.CONNECTED
    assert stored_secret(container, linked.id) == linked.refresh_token.encode()
    assert row.next_check_at is not None and row.next_check_at > container.clock.now()


def test_checker_once_exits_0_when_google_is_down(
    settings: Any, container: Any, sandbox: Any, link: Any, site: Any
) -> None:
    linked = link(site.id, "alice@example.com")
    sandbox.state.inject_token_fault("503", count=5)

    proc = run_cli(["checker", "--once"], settings)

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["transient"] == 1
    assert stored_secret(container, linked.id) == linked.refresh_token.encode()


def test_checker_once_fails_when_it_cannot_reach_the_database(settings: Any, tmp_path: Any) -> None:
    broken = settings.replace(database_url=f"sqlite:///{tmp_path}/missing/dir/none.sqlite")
    proc = run_cli(["checker", "--once"], broken)
    assert proc.returncode != 0
    assert [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def test_a_verified_connection_is_not_checked_again_before_its_interval(
    container: Any, sandbox: Any, link: Any, site: Any
) -> None:
    link(site.id, "alice@example.com")
    checker.sweep(container)
    before = sandbox.state.refresh_count

    counts = checker.sweep(container)

    assert counts["claimed"] == 0
    assert sandbox.state.refresh_count == before


def test_next_check_falls_within_the_interval(
    container: Any, sandbox: Any, link: Any, site: Any
) -> None:
    linked = link(site.id, "alice@example.com")
    start = container.clock.now()
    checker.sweep(container)
    row = connection_row(container, linked.id)
    interval = timedelta(seconds=container.settings.check_interval)
    assert start + interval * 0.79 < row.next_check_at <= container.clock.now() + interval


def test_the_batch_budget_picks_the_oldest_verified_first(
    container: Any, sandbox: Any, link: Any, site: Any
) -> None:
    old = link(site.id, "alice@example.com")
    recent = link(site.id, "bob@example.com")
    never = link(site.id, "carol@example.org")
    now = container.clock.now()
    with container.uow() as uow:
        uow.connections.update(old.id, last_verified_at=now - timedelta(days=2))
        uow.connections.update(recent.id, last_verified_at=now - timedelta(hours=1))
        uow.commit()
    container.settings = container.settings.replace(checker_batch=2)

    checker.sweep(container)

    assert sandbox.state.refresh_count_for(never.email) == 1
    assert sandbox.state.refresh_count_for(old.email) == 1
    assert sandbox.state.refresh_count_for(recent.email) == 0


def test_two_sweeps_at_once_verify_each_connection_once(
    container: Any, sandbox: Any, site: Any
) -> None:
    emails = [f"user{i}@example.com" for i in range(8)]
    for email in emails:
        link_account(container, sandbox, site.id, email)
    results: list[dict[str, int]] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(checker.sweep(container))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sum(r["claimed"] for r in results) == len(emails)
    assert [sandbox.state.refresh_count_for(e) for e in emails] == [1] * len(emails)


@pytest.mark.postgres
@pytest.mark.skipif(not __import__("os").environ.get("TEST_DATABASE_URL"),
                    reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_two_checker_processes_on_postgresql_verify_each_connection_once(
    settings: Any, container: Any, sandbox: Any, site: Any
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.integration.revocation.conftest import env_for

    emails = [f"pg{i}@example.com" for i in range(12)]
    for email in emails:
        link_account(container, sandbox, site.id, email)
    base = {k: v for k, v in os.environ.items() if not k.startswith("GMAIL_ONECLICK_")}
    command = [str(Path(sys.executable).with_name("gmail-oneclick")), "checker", "--once"]
    procs = [subprocess.Popen(command, env={**base, **env_for(settings)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]

    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert sum(json.loads(out)["claimed"] for out, _ in outputs) == len(emails)
    assert [sandbox.state.refresh_count_for(e) for e in emails] == [1] * len(emails)


def test_checker_module_never_imports_flask() -> None:
    import subprocess
    import sys

    code = ("import sys, gmail_oneclick.entrypoints.checker; "
            "sys.exit(any(m.split('.')[0] == 'flask' for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_other_sites_connections_are_checked_too(
    container: Any, sandbox: Any, site: Any
) -> None:
    shop = register_site(container, name="Shop", origin="https://shop.example.com")
    link_account(container, sandbox, shop.id, "alice@example.com")
    assert checker.sweep(container)["verified"] == 1


def test_the_long_running_checker_sweeps_until_stopped(
    container: Any, sandbox: Any, link: Any, site: Any
) -> None:
    from tests.integration.revocation.conftest import wait_until

    linked = link(site.id, "alice@example.com")
    sandbox.state.revoke_grant("alice@example.com")
    stop = threading.Event()
    runner = threading.Thread(target=checker.run_forever, args=(container,),
                              kwargs={"stop": stop})
    runner.start()
    try:
        assert wait_until(
            lambda: connection_row(container, linked.id).status is Status.RECONNECT_REQUIRED,
            timeout=15)
    finally:
        stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()
