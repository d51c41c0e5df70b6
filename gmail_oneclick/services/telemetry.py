"""The metrics the use cases record, through the process's ports.Metrics recorder.

Metrics are per process, like the Prometheus registry behind them, so the recorder is too:
the composition root installs it once (bootstrap.build); until then nothing is recorded, which
is what unit tests of the services want.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from gmail_oneclick.domain.errors import ServiceError, Unauthorized
from gmail_oneclick.ports import InvalidGrant, Metrics, RefreshResult, UpstreamMisconfigured

P = ParamSpec("P")
R = TypeVar("R")


class NoMetrics:
    """Records nothing: the recorder before one is installed."""

    def observe_send(self, outcome: str, seconds: float) -> None:
        pass

    def count_refresh(self, result: RefreshResult) -> None:
        pass

    def count_purge(self, reason: str) -> None:
        pass

    def observe_detection_latency(self, seconds: float) -> None:
        pass

    def count_webhook_delivery(self, result: str) -> None:
        pass


_recorder: Metrics = NoMetrics()


def install(recorder: Metrics) -> None:
    """Make ``recorder`` this process's metrics recorder."""
    global _recorder
    _recorder = recorder


def metrics() -> Metrics:
    """This process's metrics recorder."""
    return _recorder


def timed_send(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator for the send use cases: records their duration and outcome (``sent``, the
    ServiceError's code, or ``internal_error``), except for a refused API key."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.monotonic()
        outcome = "internal_error"
        try:
            result = func(*args, **kwargs)
            outcome = "sent"
            return result
        except ServiceError as exc:
            outcome = exc.code
            raise
        finally:
            # A request whose API key was refused is no send (and may be anyone's).
            if outcome != Unauthorized.code:
                metrics().observe_send(outcome, time.monotonic() - started)

    return wrapper


def count_refresh_error(exc: BaseException) -> None:
    """Record a refresh that raised ``exc``: invalid_grant, transient or misconfigured."""
    if isinstance(exc, InvalidGrant):
        metrics().count_refresh("invalid_grant")
    elif isinstance(exc, UpstreamMisconfigured):
        metrics().count_refresh("misconfigured")
    elif isinstance(exc, Exception):
        # Timeouts and connection errors are transient whatever type the adapter let through;
        # KeyboardInterrupt and SystemExit are no answer from Google at all.
        metrics().count_refresh("transient")


def timed_detection(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator for a purge that starts the moment a revocation is seen (invalid_grant) and
    returns after its commit: records that span when it completes."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.monotonic()
        result = func(*args, **kwargs)
        metrics().observe_detection_latency(time.monotonic() - started)
        return result

    return wrapper
