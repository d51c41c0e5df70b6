"""The revocation checker: verifies every connection at least once per check interval,
retries the webhook outbox (events are first posted by the process that queued them) and
deletes records past their retention. Runs as its own process (APScheduler); never imports Flask.

A sweep claims due connections oldest-verified first (up to ``checker_batch``), verifies them
with ``checker_concurrency`` workers by forcing a refresh (which purges on ``invalid_grant``
and postpones on transient failures), then posts due webhook events. Claims move each
connection's ``next_check_at`` under ``SKIP LOCKED`` (PostgreSQL), so several checkers share
the work without verifying one connection twice.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from gmail_oneclick.adapters.google.risc import jti_retention
from gmail_oneclick.bootstrap import Container
from gmail_oneclick.domain.ids import new_id
from gmail_oneclick.observability import metrics
from gmail_oneclick.services import heartbeat, retention, revocation, webhooks

log = logging.getLogger(__name__)

# How long a claimed connection stays invisible to other checkers: the sweep renews its claims
# every heartbeat.RENEW_SECONDS until each is verified, so a crashed checker's claims come back
# within CLAIM_HOLD. Longer than the refresh lease (services.tokens.LEASE_SECONDS): when a dead
# checker's claim lapses, its refresh lease has lapsed too and the next checker is not "busy".
CLAIM_HOLD = timedelta(seconds=20)
DELIVERY_SECONDS = 10


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
        lease_owner=owner, concurrency=settings.checker_concurrency)
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
    """Claim the connections due for a check and verify them, a few at once; outcomes counted."""
    settings = container.settings
    now = container.clock.now()
    with container.uow() as uow:
        due = uow.connections.claim_due_for_check(
            now, limit=settings.checker_batch, hold_until=now + CLAIM_HOLD)
        uow.risc.forget_before(now - jti_retention(settings))
        uow.commit()
    counts: Counter[str] = Counter(claimed=len(due))
    workers = max(1, min(settings.checker_concurrency, len(due) or 1))
    with heartbeat.keep_claims(container.uow, container.clock, due, now + CLAIM_HOLD,
                               CLAIM_HOLD), \
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="checker") as pool:
        for outcome in pool.map(lambda cid: _verify(container, cid, owner), due):
            counts[outcome] += 1
    return counts


def _verify(container: Container, connection_id: str, owner: str) -> str:
    try:
        return revocation.verify_connection(
            container.uow, container.google, container.clock, connection_id,
            lease_owner=owner, interval=container.settings.check_interval)
    except Exception as exc:  # one broken connection must not end the sweep
        log.error("check failed", extra={"connection_id": connection_id,
                                         "error": type(exc).__name__})
        return revocation.CHECK_ERROR


def deliver(container: Container, owner: str) -> None:
    webhooks.deliver_due(container.uow, container.webhook_transport, container.clock,
                         lease_owner=owner, concurrency=container.settings.checker_concurrency)


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
