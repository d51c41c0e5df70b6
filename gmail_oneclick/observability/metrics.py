"""Prometheus metrics: small typed functions, so the rest of the code never touches prometheus.

This module is the services' ports.Metrics recorder (bootstrap installs it with
services.telemetry.install); entrypoints call its functions directly.

Multi-process use (gunicorn workers, checkers): set ``PROMETHEUS_MULTIPROC_DIR`` to an empty,
writable directory shared by every process of one host *before* they start (prometheus_client
reads it at import). Each process then writes its samples to files there, ``GET /metrics``
aggregates them with ``multiprocess.MultiProcessCollector``, and gunicorn's ``child_exit`` hook
(gunicorn_conf.py beside this module) marks dead workers. Give the directory a fresh life per
deployment (a tmpfs or systemd ``RuntimeDirectory``): stale counters from an older code version
would otherwise be summed in. Without the variable each process keeps its metrics in the default
registry, which is right for the development server and tests.

The two backlog gauges are not set here: ``/metrics`` counts them in the database at scrape
time (entrypoints/web/ops.py), which is correct whichever process or host did the work.

Labels carry only small fixed vocabularies (outcomes, stable error codes, reasons): never an
id, an email or anything a caller chooses. A value outside the vocabulary becomes ``other``.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import Final, ParamSpec, TypeVar

from prometheus_client import Counter, Histogram

from gmail_oneclick.domain.model import RevocationReason
from gmail_oneclick.ports import RefreshResult

P = ParamSpec("P")
R = TypeVar("R")

PREFIX: Final = "gmail_oneclick_"
OTHER: Final = "other"

_REFRESH_RESULTS: Final = frozenset({"ok", "invalid_grant", "transient", "misconfigured"})
# services/webhooks.py's outcomes: delivered, retried (will try again), failed (gave up).
_DELIVERY_RESULTS: Final = frozenset({"delivered", "retried", "failed"})
_PURGE_REASONS: Final = frozenset(r.value for r in RevocationReason)
# Stable error codes are short snake_case words (domain/errors.py); anything else is a bug in
# the caller and must not become a new time series.
_OUTCOME_SHAPE: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")

# Seconds. Sends range from a small message on loopback to a 35 MB upload on a slow link.
_SEND_BUCKETS: Final = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# RISC-to-purge should stay under 100 ms; a late-delivered RISC event or a checker that saw
# invalid_grant hours after Google revoked lands in the long tail.
_DETECTION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 300.0, 3600.0, 21600.0, 86400.0,
)
_SWEEP_BUCKETS: Final = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

SENDS = Counter(
    f"{PREFIX}sends", "Messages the service tried to send, by outcome (sent or error code).",
    ["outcome"],
)
SEND_SECONDS = Histogram(
    f"{PREFIX}send_duration_seconds", "Time to handle one send, from request to answer.",
    buckets=_SEND_BUCKETS,
)
REFRESHES = Counter(
    f"{PREFIX}token_refreshes", "Access-token refreshes at Google, by result.", ["result"],
)
PURGES = Counter(
    f"{PREFIX}purges", "Connections whose tokens were purged, by revocation reason.", ["reason"],
)
DETECTION_SECONDS = Histogram(
    f"{PREFIX}revocation_detection_seconds",
    "From the revocation's event time (RISC iat, or when invalid_grant was seen) to purge commit.",
    buckets=_DETECTION_BUCKETS,
)
SWEEP_SECONDS = Histogram(
    f"{PREFIX}checker_sweep_duration_seconds", "Duration of one checker sweep.",
    buckets=_SWEEP_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    f"{PREFIX}webhook_deliveries", "Webhook delivery attempts, by result.", ["result"],
)


def _bounded(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else OTHER


def observe_send(outcome: str, seconds: float) -> None:
    """Record one send: ``outcome`` is ``sent`` or the stable error code that was answered."""
    label = outcome if _OUTCOME_SHAPE.fullmatch(outcome) else OTHER
    SENDS.labels(outcome=label).inc()
    SEND_SECONDS.observe(max(0.0, seconds))


def count_refresh(result: RefreshResult) -> None:
    """Record one refresh attempt at Google's token endpoint."""
    REFRESHES.labels(result=_bounded(result, _REFRESH_RESULTS)).inc()


def count_purge(reason: str) -> None:
    """Record one connection purged; ``reason`` is a RevocationReason value."""
    PURGES.labels(reason=_bounded(str(reason), _PURGE_REASONS)).inc()


def observe_detection_latency(seconds: float) -> None:
    """Record how long a revocation took to purge. Clock skew (a RISC ``iat`` slightly in our
    future) is clamped to zero rather than dropped, so the count stays equal to the purges."""
    DETECTION_SECONDS.observe(max(0.0, seconds))


def observe_detection_since(event_at: object, *, purged: int = 1) -> None:
    """Record ``purged`` revocations detected from an event stamped ``event_at`` (Unix
    seconds, e.g. a RISC token's ``iat``), purged now. A missing or odd stamp is skipped."""
    if isinstance(event_at, int | float) and not isinstance(event_at, bool):
        for _ in range(max(0, purged)):
            observe_detection_latency(time.time() - float(event_at))


def observe_sweep(seconds: float) -> None:
    """Record one completed checker sweep. Its backlog is counted at scrape time."""
    SWEEP_SECONDS.observe(max(0.0, seconds))


def timed_sweep(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator for the checker's sweep: records the duration of each sweep that completes."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.monotonic()
        result = func(*args, **kwargs)
        observe_sweep(time.monotonic() - started)
        return result

    return wrapper


def count_webhook_delivery(result: str) -> None:
    """Record one webhook delivery attempt: delivered, retried (will try again), failed."""
    WEBHOOK_DELIVERIES.labels(result=_bounded(result, _DELIVERY_RESULTS)).inc()
