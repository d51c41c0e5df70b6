"""Real HTTP servers on loopback for tests: the service itself and a stand-in WordPress site."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response


class LiveServer:
    """A WSGI app served by werkzeug on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Callable[..., Iterable[bytes]] | None = None) -> None:
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, app or _placeholder, threaded=True
        )
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def serve(self, app: Callable[..., Iterable[bytes]]) -> LiveServer:
        """Set the app (once its URL, which it may need to know, is known) and start."""
        self._server.app = app
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._server.server_close()


@contextlib.contextmanager
def served(app: Callable[..., Iterable[bytes]]) -> Iterator[str]:
    """Serve ``app`` on a loopback port for the block; its base URL (no trailing slash)."""
    server = LiveServer().serve(app)
    try:
        yield server.url
    finally:
        server.stop()


def _placeholder(environ: Any, start_response: Any) -> Iterable[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"not started"]


def wordpress_stub() -> Callable[..., Iterable[bytes]]:
    """The site admin's WordPress page that the service redirects back to."""

    @Request.application  # type: ignore[arg-type]
    def app(request: Request) -> Response:
        rows = "".join(
            f"<tr><th>{k}</th><td id='{k}'>{v}</td></tr>" for k, v in request.args.items()
        )
        html = (
            "<!doctype html><html lang='en'><head><title>WordPress · Post SMTP</title></head>"
            "<body><h1>WordPress admin: Gmail connection</h1>"
            f"<table>{rows}</table></body></html>"
        )
        return Response(html, mimetype="text/html")

    return app  # type: ignore[return-value]
