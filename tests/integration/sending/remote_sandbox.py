"""A Google sandbox in its own process, so memory measured here is the service's alone."""

from __future__ import annotations

import multiprocessing
from typing import Any

from tests.accounts import grant_tokens


def _serve(queue: Any, stop: Any) -> None:
    from gmail_oneclick.sandbox import start_sandbox

    server = start_sandbox()
    tokens = grant_tokens(server, "alice@example.com")
    queue.put({"url": server.url, "client_id": server.state.client_id,
               "client_secret": server.state.client_secret, "tokens": tokens})
    stop.wait(120)
    server.stop()


class RemoteSandbox:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._queue = context.Queue()
        self._stop = context.Event()
        self._process = context.Process(target=_serve, args=(self._queue, self._stop),
                                        daemon=True)
        self._process.start()
        self.info: dict[str, Any] = self._queue.get(timeout=60)

    def close(self) -> None:
        self._stop.set()
        self._process.join(10)
        self._queue.close()
        self._queue.join_thread()
