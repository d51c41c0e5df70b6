"""The HTTP side of webhook delivery (services.webhooks.WebhookTransport) over requests.

Short timeouts and no redirects: a slow, dead or misbehaving receiver costs one worker a few
seconds at most, and a redirect cannot send a signed event somewhere the site did not register.

Only public addresses are connected to: anyone may register a site when registration is open, so
a webhook URL whose DNS name points at a private, loopback or link-local address (or a literal
such address) would make this service post into the operator's network. The name is resolved
once and the connection pinned to the checked address, so DNS rebinding cannot swap it in between.
A literal loopback URL (http://127.0.0.1:P/, ::1, localhost) stays allowed, as CONTRACT §2 says.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from gmail_oneclick.urls import is_loopback_host

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 5.0


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class _PinnedPublic:
    """urllib3 connection mixin: resolve, refuse non-public addresses, connect to the checked
    one (TLS still verifies the certificate against the URL's host name)."""

    host: str
    port: int
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        name = self.host.strip("[]")
        if is_loopback_host(name):
            return super()._new_conn()  # type: ignore[misc,no-any-return]
        try:
            infos = socket.getaddrinfo(name, self.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise NewConnectionError(self, f"cannot resolve {name}") from exc  # type: ignore[arg-type]
        allowed = [str(info[4][0]) for info in infos if _public(str(info[4][0]))]
        if not allowed or len(allowed) != len(infos):
            raise NewConnectionError(self, "webhook host is not a public address")  # type: ignore[arg-type]
        self._dns_host = allowed[0]
        return super()._new_conn()  # type: ignore[misc,no-any-return]


class _HTTPConnection(_PinnedPublic, HTTPConnection):
    pass


class _HTTPSConnection(_PinnedPublic, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class RequestsWebhookTransport:
    def __init__(self, *, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies from the environment for site URLs
        self.session.mount("http://", _PublicOnlyAdapter())
        self.session.mount("https://", _PublicOnlyAdapter())

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
