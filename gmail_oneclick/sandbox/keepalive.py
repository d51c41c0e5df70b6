"""HTTP/1.1 keep-alive for the sandbox's werkzeug server.

Google keeps connections alive; werkzeug's development server closes every one, because its
handler cannot tell where one request's body ends and the next request begins (it drains the
socket after each response). This handler can when the request is framed: the application
reads the body through a stream limited to its Content-Length, whatever it left unread is
discarded after the response, and the response is framed by its Content-Length or chunked.
Everything else -- a chunked or HTTP/1.0 request, an error once the headers went out, an
unread body too large to discard -- closes the connection as before.
"""

from __future__ import annotations

import socket
import threading
import traceback
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import IO, Any, cast

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

# An unread body larger than this is not worth reading to keep the connection: close it.
MAX_DISCARD = 64 * 1024 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


class KeepAliveServer(ThreadedWSGIServer):
    """Remembers its open connections so ``close_connections`` can end idle keep-alive ones
    when the sandbox stops (a stopped Google must not keep answering on old connections)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in self.open_connections:
                with suppress(OSError):  # already gone
                    conn.shutdown(socket.SHUT_RDWR)


class KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    # A response is written whole and flushed once, with Nagle off: on a kept-alive connection
    # a small body sent after its headers would otherwise wait for the client's delayed ACK.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: KeepAliveServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        # Closing flushes what is buffered; a client that has gone (or a connection the
        # sandbox dropped on purpose) leaves nothing to flush to.
        with suppress(ConnectionError):
            super().finish()

    def _body_length(self) -> int | None:
        """The request body's length when it is framed by Content-Length (or absent)."""
        if self.request_version != "HTTP/1.1" or "Transfer-Encoding" in self.headers:
            return None
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return 0
        if len(values) != 1 or not values[0].strip().isdigit():
            return None
        return int(values[0].strip())

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").strip().lower() == "100-continue":
            # Flushed now (werkzeug writes it into the buffer, where the client would not see it).
            del self.headers["Expect"]
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
        length = self._body_length()
        if length is None:  # werkzeug's own handling, which closes the connection
            super().run_wsgi()
            self.close_connection = True
            return
        environ = self.make_environ()
        self.environ = environ
        body = LimitedStream(cast("IO[bytes]", self.rfile), length)
        environ["wsgi.input"] = body
        try:
            self._respond(environ)
        except (ConnectionError, TimeoutError, ClientDisconnected):
            self.close_connection = True
            return
        if not self.close_connection:
            self.close_connection = not _discard(body)

    def _respond(self, environ: dict[str, Any]) -> None:
        pending: list[Any] = []  # [status, headers] from start_response
        state = {"sent": False, "chunked": False}

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            if exc_info and state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
            pending[:] = [status, headers]
            return write

        def write(data: bytes) -> None:
            if not state["sent"]:
                state["sent"] = True
                state["chunked"] = self._send_head(pending[0], pending[1])
            if data and self.command != "HEAD":
                if state["chunked"]:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)

        try:
            result: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                for data in result:
                    write(data)
                write(b"")
                if state["chunked"]:
                    self.wfile.write(b"0\r\n\r\n")
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError, ClientDisconnected):
            raise
        except Exception:  # the application failed: as werkzeug, a 500 if still possible
            self.close_connection = True
            self.log("error", "Error on request:\n%s", traceback.format_exc())
            if not state["sent"]:
                self.send_error(500)
            return
        self.wfile.flush()

    def _send_head(self, status: str, headers: list[tuple[str, str]]) -> bool:
        """Writes the status line and headers; True when the body goes chunked."""
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        self.send_response(code, reason)
        names = set()
        for key, value in headers:
            self.send_header(key, value)  # a "Connection: close" from the app is honoured
            names.add(key.lower())
        has_body = self.command != "HEAD" and code >= 200 and code not in _NO_BODY_STATUS
        chunked = has_body and "content-length" not in names
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        return chunked


def _discard(body: LimitedStream) -> bool:
    """Reads what the application left of the body; False when the connection must close."""
    if body.limit - body.tell() > MAX_DISCARD:
        return False
    try:
        body.exhaust()
    except (OSError, ClientDisconnected):
        return False
    return True
