"""One log line per request: method, route pattern, status, milliseconds.

The route is the URL rule (``/connect/<token>``), never the path: a connect link's token and
every id sit in paths, and a query string may carry anything. Requests that match no route
are logged with the route ``-``.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

log = logging.getLogger("gmail_oneclick.request")


def init_app(app: Flask) -> None:
    # Registered before any other before_request hook: one that answers early (an unknown
    # query parameter's 400) skips those after it, and the line should still have its time.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_log_request)


def _start() -> None:
    g.request_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    started = g.get("request_started")
    elapsed_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    rule = request.url_rule
    log.info("request", extra={"method": request.method,
                               "route": rule.rule if rule is not None else "-",
                               "status": response.status_code,
                               "ms": round(elapsed_ms, 1)})
    return response
