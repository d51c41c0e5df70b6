"""The token endpoint's refresh POST on urllib3 directly: the checker's hot path.

A refresh through ``requests`` spends about as much CPU in requests' own layers (reading the
proxy variables from the environment and looking for a ~/.netrc on every call, hooks, cookies)
as in the HTTP exchange itself; a checker making hundreds a second is bound by that CPU. This
posts the same form with urllib3, which requests uses underneath, verifying TLS against the
same CA bundle (certifi). When the environment names a proxy for the token URL (read once, at
start), ``TokenPoster.usable`` is False and the caller keeps using requests, which honours it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import certifi
import urllib3
from requests.utils import get_environ_proxies

from gmail_oneclick.ports import TransientUpstream

_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


@dataclass(frozen=True)
class Answer:
    """What oauth.raise_for_status and oauth._json read of a response."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not (as requests' ``Response.json``)."""
        return json.loads(self.body)


class TokenPoster:
    """Form POSTs to one token URL over a keep-alive pool of ``pool_size`` connections."""

    def __init__(self, url: str, *, pool_size: int) -> None:
        self.url = url
        self.usable = not get_environ_proxies(url)
        self._pool = urllib3.PoolManager(
            num_pools=2, maxsize=pool_size, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())

    def post(self, data: Mapping[str, str], *, timeout: float, what: str) -> Answer:
        """POST ``data`` form-encoded; TransientUpstream when no answer came (as requests'
        errors are mapped by the caller)."""
        try:
            response = self._pool.request(
                "POST", self.url, body=urlencode(data), headers=_HEADERS,
                timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False,
                redirect=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransientUpstream(f"{what}: {type(exc).__name__}") from None
        return Answer(response.status, response.headers, response.data)

    def close(self) -> None:
        self._pool.clear()
