"""HTTP to sites' own servers over requests: webhook delivery (ports.WebhookTransport)
and the fetch that verifies a site's origin (ports.OriginFetcher).

Short timeouts and no redirects: a slow, dead or misbehaving server costs one worker a few
seconds at most, and a redirect cannot send a signed event (or our fetch) somewhere the site did
not register.

Only addresses the TargetPolicy allows are connected to (netpolicy: by default public ones only):
the name is resolved once, every address it resolves to is checked, and the connection pinned
to the checked address, so DNS rebinding cannot swap it in between.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError, NewConnectionError

from gmail_oneclick.domain.netpolicy import TargetPolicy
from gmail_oneclick.services.site_verification import MAX_TOKEN_BYTES

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 5.0
FETCH_SECONDS = 5.0  # origin verification, in all


class _Pinned:
    """urllib3 connection mixin: resolve, refuse addresses the policy forbids, connect to the
    checked one (TLS still verifies the certificate against the URL's host name)."""

    host: str
    port: int
    _dns_host: str
    target_policy: TargetPolicy

    def _new_conn(self) -> socket.socket:
        if self.target_policy.allow_private:  # every address is allowed: nothing to pin
            return super()._new_conn()  # type: ignore[misc,no-any-return]
        name = self.host.strip("[]")
        try:
            infos = socket.getaddrinfo(name, self.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise NewConnectionError(self, f"cannot resolve {name}") from exc  # type: ignore[arg-type]
        addresses = [str(info[4][0]) for info in infos]
        if not addresses or not all(map(self.target_policy.allows_address, addresses)):
            raise NewConnectionError(self, "host is not a public address")  # type: ignore[arg-type]
        self._dns_host = addresses[0]
        return super()._new_conn()  # type: ignore[misc,no-any-return]


class _PolicyAdapter(HTTPAdapter):
    def __init__(self, policy: TargetPolicy) -> None:
        attrs = {"target_policy": policy}
        connection = type("PinnedHTTPConnection", (_Pinned, HTTPConnection), attrs)
        tls_connection = type("PinnedHTTPSConnection", (_Pinned, HTTPSConnection), attrs)
        self._pools = {
            "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": connection}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,),
                          {"ConnectionCls": tls_connection}),
        }
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


def _session(policy: TargetPolicy) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment for site URLs
    session.mount("http://", _PolicyAdapter(policy))
    session.mount("https://", _PolicyAdapter(policy))
    return session


class RequestsWebhookTransport:
    def __init__(self, policy: TargetPolicy, *, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.session = _session(policy)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            response = self.session.post(
                url, data=body, headers={**headers, "User-Agent": "gmail-oneclick-webhooks"},
                timeout=self.timeout, allow_redirects=False,
            )
        except requests.RequestException as exc:
            log.info("webhook receiver unreachable", extra={"error": type(exc).__name__})
            return 0
        response.close()
        return response.status_code


@dataclass(frozen=True)
class Fetched:
    """What a GET answered: ``status`` 0 when nothing was (refused address, timeout, ...);
    ``body`` at most ``max_bytes + 1`` bytes, as sent (no content decoding)."""

    status: int
    body: bytes


class RequestsOriginFetcher:
    def __init__(self, policy: TargetPolicy, *, seconds: float = FETCH_SECONDS,
                 max_bytes: int = MAX_TOKEN_BYTES) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.session = _session(policy)

    def fetch(self, url: str) -> Fetched:
        """GET ``url`` within ``seconds`` in all (a server trickling bytes is cut off)."""
        deadline = time.monotonic() + self.seconds
        try:
            with self.session.get(
                url, timeout=(min(CONNECT_TIMEOUT, self.seconds), self.seconds), stream=True,
                allow_redirects=False,
                headers={"User-Agent": "gmail-oneclick-verification",
                         "Accept-Encoding": "identity"},
            ) as response:
                body = b""
                while len(body) <= self.max_bytes:
                    if time.monotonic() > deadline:
                        return Fetched(0, b"")
                    chunk = response.raw.read1(self.max_bytes + 1 - len(body), decode_content=False)
                    if not chunk:
                        break
                    body += chunk
                return Fetched(response.status_code, body)
        except (requests.RequestException, HTTPError, OSError) as exc:
            log.info("site origin unreachable", extra={"error": type(exc).__name__})
            return Fetched(0, b"")
