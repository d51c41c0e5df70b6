"""The Gmail adapter's transport: each request is written at most once, never resent.

httplib2 resends a request whose answer did not come (its remedy for a kept-alive connection
the server closed meanwhile). For ``users.messages.send`` that resend is a second e-mail when
Gmail accepted the first and only its answer was lost. Here, instead:

- a kept-alive connection is checked before it is reused: if the server closed it (or it holds
  stray bytes), it is replaced before anything is written;
- a failure while connecting (DNS, refused, TLS handshake, connect timeout: no byte of the
  request written) raises RequestNotSent, which the caller may retry;
- any failure once the request started going out is raised as it is, and ``BearerHttp``
  remembers whether that request could have completed the message, for the adapter to decide.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import urllib.request
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

import httplib2


class RequestNotSent(Exception):
    """Connecting failed before any byte of the request was written: Gmail never saw it."""


def _peer_closed(sock: socket.socket) -> bool:
    """True when an idle kept-alive socket is readable: the server closed it (EOF or reset)
    or sent bytes nobody asked for. Either way it must not carry the next request."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):  # closed under us
        return True
    return bool(readable)


def open_for_request(conn: http.client.HTTPConnection) -> None:
    """Make ``conn`` ready to carry one request: a kept-alive socket the server closed (or
    that holds stray bytes) is closed first, then an unconnected ``conn`` connects. Raises
    RequestNotSent, with ``conn`` closed, when connecting fails: nothing was written."""
    if conn.sock is not None and _peer_closed(conn.sock):
        conn.close()
    if conn.sock is None:
        try:
            conn.connect()
        except (OSError, http.client.HTTPException, httplib2.HttpLib2Error) as exc:
            conn.close()
            raise RequestNotSent(f"connecting failed ({type(exc).__name__})") from None


class OnceHttp(httplib2.Http):  # type: ignore[misc]  # httplib2 ships no types
    """``httplib2.Http`` whose requests are tried once: see the module docstring."""

    def _conn_request(self, conn: Any, request_uri: str, method: str, body: Any,
                      headers: dict[str, str]) -> tuple[httplib2.Response, bytes]:
        open_for_request(conn)
        try:
            conn.request(method, request_uri, body, headers)
            answer = conn.getresponse()
            content = b"" if method == "HEAD" else answer.read()
        except BaseException:
            conn.close()  # mid-request or mid-answer: this connection is good for nothing
            raise
        response = httplib2.Response(answer)
        if method == "HEAD":
            conn.close()
        else:
            # As httplib2's own _conn_request: undo the gzip/deflate it asked for.
            content = httplib2._decompressContent(response, content, self.limit_kwargs)
        return response, content


def _https_proxy(host: str) -> SplitResult | None:
    """The environment's proxy for HTTPS to ``host``, unless ``no_proxy`` exempts it."""
    proxy = urllib.request.getproxies().get("https")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return urlsplit(proxy if "://" in proxy else "http://" + proxy)


def completes_message(uri: str, method: str, headers: dict[str, str]) -> bool:
    """False only for the requests of a send that cannot deliver it: opening a resumable
    upload session, and a chunk that ends before the last byte. Anything else may."""
    if method == "POST":
        return parse_qs(urlsplit(uri).query).get("uploadType") != ["resumable"]
    span = {k.lower(): v for k, v in headers.items()}.get("content-range", "")
    sizes, _, total = span.removeprefix("bytes ").partition("/")
    first, _, last = sizes.partition("-")
    if method == "PUT" and total.isdigit() and first.isdigit() and last.isdigit():
        return int(last) + 1 >= int(total)
    return True


class BearerHttp:
    """One send's view of its thread's transport: adds the access token to every request,
    including upload PUTs, and remembers whether the latest request could deliver the message.

    The token lives here, per send, never on the pooled ``OnceHttp`` (no credentials object
    either, so the library never tries to refresh on 401: the token service owns refreshing).
    googleapiclient only calls ``request``.
    """

    def __init__(self, http: httplib2.Http, access_token: str) -> None:
        self._http = http
        self._authorization = f"Bearer {access_token}"
        self.last_could_deliver = False

    def request(self, uri: str, method: str = "GET", body: Any = None,
                headers: dict[str, str] | None = None, *args: Any, **kwargs: Any) -> Any:
        headers = dict(headers or {})
        self.last_could_deliver = completes_message(uri, method, headers)
        headers["authorization"] = self._authorization
        return self._http.request(uri, method, body, headers, *args, **kwargs)

    def __repr__(self) -> str:
        return "BearerHttp()"


class KeptAlive:
    """One thread's kept-alive connection for small sends, in ``http.client`` directly.

    A small send is one POST whose request google-api-python-client built (once per process:
    the adapter's template); going through the library's ``execute`` and httplib2 as well
    costs more CPU than the HTTP exchange itself (header normalisation, its cache and
    redirect logic, a second response object) and adds nothing a fixed POST needs. The rules
    are OnceHttp's: an idle connection the server closed is replaced before anything is
    written, a failure to connect is RequestNotSent, and nothing is ever written twice.
    Answers are asked for uncompressed (small JSON: nothing to gain from gzip). An HTTPS
    proxy named in the environment (``https_proxy``, less ``no_proxy``) is used as httplib2
    and requests use it for the rest of the Google calls: a CONNECT tunnel to Gmail's host.
    """

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self._connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                                  else http.client.HTTPConnection)
        self._host, self._port = parts.hostname or "", parts.port
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def post(self, target: str, body: bytes, headers: dict[str, str],
             ) -> tuple[http.client.HTTPResponse, bytes]:
        """POST ``body`` to ``target`` (path and query); (the answer, its whole body)."""
        conn = self._ready()
        try:
            conn.request("POST", target, body, headers)
            answer = conn.getresponse()
            content = answer.read()
        except BaseException:
            self.close()  # mid-request or mid-answer: this connection is good for nothing
            raise
        if answer.will_close:
            self.close()
        return answer, content

    def _ready(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = self._new_connection()
        open_for_request(self._conn)
        return self._conn

    def _new_connection(self) -> http.client.HTTPConnection:
        proxy = _https_proxy(self._host) if self._connection_class is \
            http.client.HTTPSConnection else None
        if proxy is None:
            return self._connection_class(self._host, self._port, timeout=self._timeout)
        conn = self._connection_class(proxy.hostname or "", proxy.port, timeout=self._timeout)
        headers = {}
        if proxy.username is not None:
            credentials = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
            headers["Proxy-Authorization"] = \
                "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
        conn.set_tunnel(self._host, self._port, headers=headers)
        return conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
