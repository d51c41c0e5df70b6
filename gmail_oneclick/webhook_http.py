"""The HTTP side of webhook delivery (services.webhooks.WebhookTransport) over requests.

Short timeouts and no redirects: a slow, dead or misbehaving receiver costs one worker a few
seconds at most, and a redirect cannot send a signed event somewhere the site did not register.
"""

from __future__ import annotations

import logging

import requests

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 5.0


class RequestsWebhookTransport:
    def __init__(self, *, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies from the environment for site URLs

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
