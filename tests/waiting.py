"""Waiting in real time for something another thread or process does (a heartbeat, a worker)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 10.0,
             interval: float = 0.02) -> None:
    """Return once ``predicate()`` is true; fail the test naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def answers_ok(url: str) -> bool:
    """True once ``url`` answers 2xx. A refused connection (the socket is not bound yet) and a
    slow answer (the first worker still importing the app on a loaded machine) both mean "not
    yet", never a failure of the test that waits."""
    import requests

    try:
        return requests.get(url, timeout=5).ok
    except requests.RequestException:
        return False
