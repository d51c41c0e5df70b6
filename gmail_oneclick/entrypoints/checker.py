"""The revocation checker: verifies every connection at least once per check interval,
retries the webhook outbox (events are first posted by the process that queued them) and
deletes records past their retention. Runs as its own process (APScheduler); never imports Flask.

A sweep claims due connections oldest-verified first (up to ``checker_batch``), takes their
refresh leases in one transaction, verifies them with ``checker_concurrency`` workers (auto:
more on PostgreSQL) by forcing a refresh, and records the results a group per transaction
(services.checking: ``invalid_grant`` purges, transient failures postpone), then posts due
webhook events. Claims move each
connection's ``next_check_at`` under ``SKIP LOCKED`` (PostgreSQL), so several checkers share
the work without verifying one connection twice.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from gmail_oneclick.adapters.google.risc import jti_retention
from gmail_oneclick.bootstrap import Container
from gmail_oneclick.domain.ids import new_id
from gmail_oneclick.observability import metrics
from gmail_oneclick.services import checking, heartbeat, retention, revocation, tokens, webhooks

log = logging.getLogger(__name__)

# How long a claimed connection stays invisible to other checkers: the sweep renews its claims
# every heartbeat.RENEW_SECONDS until each is verified, so a crashed checker's claims come back
# within CLAIM_HOLD. Longer than the refresh lease (services.tokens.LEASE_SECONDS): when a dead
# checker's claim lapses, its refresh lease has lapsed too and the next checker is not "busy".
CLAIM_HOLD = timedelta(seconds=20)
DELIVERY_SECONDS = 10
# Results recorded per transaction, and the longest one waits to be recorded.
FLUSH_ROWS = 100
FLUSH_SECONDS = 0.25
# Workers when CHECKER_CONCURRENCY is 0 (auto), by database.
AUTO_CONCURRENCY = {"postgresql": 64, "sqlite": 32}
DELIVERY_CONCURRENCY = 4


def lease_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{new_id('chk')[4:]}"


@metrics.timed_sweep
def sweep(container: Container, *, owner: str | None = None) -> dict[str, int]:
    """One sweep: verify due connections, deliver due webhooks, prune what has outlived its
    retention. Returns counts.

    Upstream failures are counted, never raised; database failures are raised.
    """
    owner = owner or lease_owner()
    settings = container.settings
    counts = _verify_due(container, owner)
    delivery = webhooks.deliver_due(
        container.uow, container.webhook_transport, container.clock,
        lease_owner=owner, concurrency=delivery_concurrency(container))
    pruned = retention.prune(container.uow, container.clock, retention.Retention(
        audit_days=settings.audit_retention_days,
        idempotency_hours=settings.idempotency_retention_hours,
        webhook_days=settings.webhook_retention_days))
    result = {
        "claimed": counts["claimed"],
        "verified": counts[revocation.CHECK_OK],
        "revoked": counts[revocation.CHECK_REVOKED],
        "transient": counts[revocation.CHECK_TRANSIENT],
        "skipped": counts[revocation.CHECK_SKIPPED],
        "errors": counts[revocation.CHECK_ERROR],
        "webhooks_delivered": delivery.delivered,
        "webhooks_retried": delivery.retried,
        "webhooks_failed": delivery.failed,
        **pruned,
    }
    # An idle sweep every minute is noise at INFO; one that did something is worth a line.
    log.log(logging.INFO if any(result.values()) else logging.DEBUG, "checker sweep",
            extra={"counts": result})
    return result


def _verify_due(container: Container, owner: str) -> Counter[str]:
    """Claim the connections due for a check and verify them, many at once; outcomes counted."""
    settings = container.settings
    now = container.clock.now()
    with container.uow() as uow:
        due = uow.connections.claim_due_for_check(
            now, limit=settings.checker_batch, hold_until=now + CLAIM_HOLD)
        uow.risc.forget_before(now - jti_retention(settings))
        uow.commit()
    counts: Counter[str] = Counter(claimed=len(due))
    if not due:
        return counts
    with heartbeat.keep_claims(container.uow, container.clock, due, now + CLAIM_HOLD,
                               CLAIM_HOLD), \
            heartbeat.keep_leases(container.uow, container.clock, due, owner,
                                  tokens.LEASE_SECONDS):
        counts.update(_refresh_all(container, due, owner))
    return counts


def _refresh_all(container: Container, due: list[str], owner: str) -> Counter[str]:
    """Refresh ``due`` with the checker's workers (Google only, no database) while this thread
    records their results a group at a time and, in the same transaction, leases the next
    connections for the workers that came free: one transaction per group, not three per
    connection, never one from a worker, and a lease only while its refresh is under way."""
    counts: Counter[str] = Counter()
    results: queue.SimpleQueue[checking.Refreshed] = queue.SimpleQueue()
    google = container.google

    def work(item: checking.Leased) -> None:
        results.put(checking.refresh(google, item))

    workers = max(1, min(concurrency(container), len(due)))
    waiting = list(reversed(due))  # popped from the end: oldest-verified first
    in_flight, group = 0, list[checking.Refreshed]()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="checker") as pool:
        while group or waiting or in_flight:
            next_ids = [waiting.pop() for _ in range(min(workers - in_flight, len(waiting)))]
            if group or next_ids:
                settled, leased = checking.settle(
                    container.uow, container.clock, group, next_ids, lease_owner=owner,
                    interval=container.settings.check_interval)
                counts.update(settled)
                for item in leased:
                    pool.submit(work, item)
                in_flight, group = in_flight + len(leased), []
            if in_flight:
                group = _collect(results, in_flight, max(1, workers // 2))
                in_flight -= len(group)
    return counts


def _collect(results: queue.SimpleQueue[checking.Refreshed], in_flight: int,
             enough: int) -> list[checking.Refreshed]:
    """The next results: at least one, then more until ``enough`` (half the workers: the
    others keep Google busy meanwhile), FLUSH_ROWS, all of ``in_flight``, or FLUSH_SECONDS
    after the first, since a result's lease keeps a send waiting until it is recorded."""
    group = [results.get()]  # a refresh always ends: the HTTP timeout bounds it
    deadline = time.monotonic() + FLUSH_SECONDS
    while len(group) < min(enough, FLUSH_ROWS, in_flight):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            group.append(results.get(timeout=left))
        except queue.Empty:
            break
    return group


def delivery_concurrency(container: Container) -> int:
    """Webhook retries at once: ``checker_concurrency``, 4 when it is auto (sites are small
    servers; the auto figure is sized for Google)."""
    configured = container.settings.checker_concurrency
    return configured if configured > 0 else DELIVERY_CONCURRENCY


def concurrency(container: Container) -> int:
    """The checker's workers: ``checker_concurrency``, or when it is 0 (the default) one
    chosen for the database. Workers only wait on Google, the database is written by the
    sweep's own thread, so the figure is bounded by what Google and this process can take:
    higher on PostgreSQL, lower on SQLite, whose one writer is shared with the web process."""
    configured = container.settings.checker_concurrency
    if configured > 0:  # 0 or less: auto
        return configured
    return AUTO_CONCURRENCY.get(container.engine.dialect.name, AUTO_CONCURRENCY["sqlite"])


def deliver(container: Container, owner: str) -> None:
    webhooks.deliver_due(container.uow, container.webhook_transport, container.clock,
                         lease_owner=owner, concurrency=delivery_concurrency(container))


def run_forever(container: Container, *, stop: threading.Event | None = None) -> None:
    """The long-running checker: a sweep every ``checker_sweep_seconds`` (each picks only due
    connections, so every connection is verified once per interval) and webhook delivery every
    few seconds."""
    from apscheduler.schedulers.background import BackgroundScheduler

    owner = lease_owner()
    scheduler = BackgroundScheduler(timezone="UTC")
    common: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    every = container.settings.checker_sweep_seconds
    # Jitter spreads checkers started together; kept to a sixth of the period so a short
    # period (CHECKER_SWEEP_SECONDS) stays short.
    jitter = min(random.randint(1, 10), every // 6) or None  # noqa: S311
    scheduler.add_job(_safe, "interval", seconds=every, args=[sweep, container],
                      kwargs={"owner": owner},
                      jitter=jitter, next_run_time=container.clock.now(), **common)
    scheduler.add_job(_safe, "interval", seconds=min(DELIVERY_SECONDS, every),
                      args=[deliver, container, owner], **common)
    scheduler.start()
    stop = stop or threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:  # pragma: no cover - operator's Ctrl-C
        pass
    finally:
        scheduler.shutdown(wait=True)


def _safe(func: Any, *args: Any, **kwargs: Any) -> None:
    try:
        func(*args, **kwargs)
    except Exception as exc:  # the database may be down for a while; the next run retries
        log.error("checker job failed", extra={"job": func.__name__, "error": type(exc).__name__})
