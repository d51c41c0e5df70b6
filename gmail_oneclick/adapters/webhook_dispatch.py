"""Webhooks delivered at once: the process that committed an event posts it right away.

Each process (gunicorn worker, checker, CLI) has one dispatcher, made by its container on the
first commit that queues a webhook: a bounded queue and a few daemon threads. A thread leases
the event (the same lease the checker's sweep takes, so the two never post one event both) and
delivers it through the same signed path as the sweep. Nothing here is the retry path: a full
queue, a dead process or a failed post leaves the row in the outbox, where the checker's sweep
finds it (after the backoff of a failed attempt, or the lease of a process that died mid-post).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable

from gmail_oneclick.domain.ids import new_id
from gmail_oneclick.ports import Clock, UowFactory, WebhookTransport
from gmail_oneclick.services import webhooks

log = logging.getLogger(__name__)

# Events waiting for a thread. Past this the checker delivers them (seconds later, not lost).
QUEUE_SIZE = 1000
# At exit (a CLI command, a stopping worker) what is queued gets this long to go out; the rest
# stays in the outbox for the checker.
EXIT_GRACE_SECONDS = 5.0

_running: weakref.WeakSet[WebhookDispatcher] = weakref.WeakSet()


@atexit.register
def _finish_at_exit() -> None:
    for dispatcher in list(_running):
        if dispatcher.pid == os.getpid():
            dispatcher.stop(EXIT_GRACE_SECONDS)


class WebhookDispatcher:
    """A bounded queue of committed event ids and ``threads`` daemon threads posting them."""

    def __init__(self, uow_factory: UowFactory,
                 transport: Callable[[], WebhookTransport], clock: Clock, *,
                 threads: int, queue_size: int = QUEUE_SIZE) -> None:
        self._uow_factory = uow_factory
        self._transport = transport
        self._clock = clock
        self._threads_wanted = max(1, threads)
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=queue_size)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.pid = os.getpid()  # a forked child must build its own (threads do not survive)
        self.owner = f"{socket.gethostname()[:30]}:{self.pid}:{new_id('dsp')[4:]}"[:64]

    def submit(self, event_ids: Iterable[str]) -> int:
        """Queue committed events for delivery; returns how many were queued. Never raises:
        an event that does not fit is left to the checker's sweep."""
        self._start()
        queued = 0
        for event_id in event_ids:
            try:
                self._queue.put_nowait(event_id)
                queued += 1
            except queue.Full:
                log.warning("webhook dispatch queue full; the checker will deliver",
                            extra={"event_id": event_id})
        return queued

    def _start(self) -> None:
        with self._lock:
            while len(self._threads) < self._threads_wanted:
                thread = threading.Thread(target=self._run, daemon=True,
                                          name=f"webhooks-{len(self._threads)}")
                thread.start()
                self._threads.append(thread)
            _running.add(self)

    def _run(self) -> None:
        while True:
            event_id = self._queue.get()
            try:
                if event_id is None:
                    return
                webhooks.deliver_event(self._uow_factory, self._transport(), self._clock,
                                       event_id, lease_owner=self.owner)
            except Exception as exc:  # the database may be down: the sweep delivers it later
                log.error("webhook dispatch failed", extra={"event_id": event_id,
                                                            "error": type(exc).__name__})
            finally:
                self._queue.task_done()

    def wait_idle(self) -> None:
        """Block until every queued event has been handled (tests, benchmarks, shutdown)."""
        self._queue.join()

    def stop(self, timeout: float = 5.0) -> None:
        """Finish what is queued, then end the threads."""
        with self._lock:
            threads, self._threads = self._threads, []
        deadline = time.monotonic() + timeout
        try:
            for _ in threads:
                self._queue.put(None, timeout=max(0.0, deadline - time.monotonic()))
        except queue.Full:
            return  # daemon threads: they end with the process; the outbox keeps the rest
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
