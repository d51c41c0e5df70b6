"""HTTP to a site's own servers, on its behalf: webhook delivery and origin verification.

gmail_oneclick/adapters/webhook_http implements both under the address policy of
domain.netpolicy (public addresses only, unless sandbox mode or private targets are allowed).
"""

from __future__ import annotations

from typing import Protocol


class WebhookTransport(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST and return the HTTP status; 0 when the receiver could not be reached in time."""
        ...


class Answer(Protocol):
    @property
    def status(self) -> int:
        """0 when nothing was answered (refused address, timeout, connection error)."""
        ...

    @property
    def body(self) -> bytes:
        """At most services.site_verification.MAX_TOKEN_BYTES + 1 bytes, as sent."""
        ...


class OriginFetcher(Protocol):
    def fetch(self, url: str) -> Answer:
        """GET ``url`` without following redirects, within a few seconds."""
        ...
