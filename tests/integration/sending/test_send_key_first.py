"""The API key is checked before anything about the message, whichever way the body arrives.

The body is read only once the key is good, so a refused key is answered 401 whatever the body
holds, and is never counted as a send.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from gmail_oneclick.sandbox.gmail_state import GmailSandbox
from tests.integration.ops.test_ops_metrics import sample, scrape
from tests.integration.sending.conftest import b64url, make_message

WRONG_KEY = {"Authorization": "Bearer goc_wrong-key"}
BAD_BODIES = [
    ("application/json", b"{not json"),
    ("application/json", b'{"raw": "***"}'),
    ("application/json", b"[]"),
    ("message/rfc822", b"no header fields here"),
    ("text/plain", b"hello"),
]


@pytest.mark.parametrize(("content_type", "body"), BAD_BODIES)
@pytest.mark.parametrize("auth", [WRONG_KEY, {}, {"Authorization": "Basic abc"}])
def test_a_refused_key_is_401_whatever_the_small_body_holds(
        client: Any, alice: Any, gmail: GmailSandbox, content_type: str, body: bytes,
        auth: dict[str, str]) -> None:
    response = client.post("/v1/messages", data=body,
                           headers={**auth, "Content-Type": content_type})
    assert response.status_code == 401, response.get_json()
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert gmail.send_requests == 0


def test_a_refused_key_is_401_before_a_large_body_is_read(
        client: Any, alice: Any, gmail: GmailSandbox) -> None:
    body = b"{not json" + b" " * 200_000
    response = client.post("/v1/messages", data=body,
                           headers={**WRONG_KEY, "Content-Type": "application/json"})
    assert response.status_code == 401
    assert gmail.send_requests == 0


def test_bad_bodies_with_a_good_key_get_their_own_errors(
        client: Any, site: Any, alice: Any, gmail: GmailSandbox) -> None:
    codes = [client.post("/v1/messages", data=body,
                         headers={**site.auth, "Content-Type": content_type}).status_code
             for content_type, body in BAD_BODIES]
    assert codes == [400, 400, 400, 400, 415]
    assert gmail.send_requests == 0


def _transactions(container: Any) -> list[int]:
    begun: list[int] = []
    event.listen(container.engine, "begin", lambda conn: begun.append(1))
    return begun


@pytest.mark.parametrize(("size", "idempotency_key"), [(200, None), (80_000, None), (200, "k-1")])
def test_a_send_takes_two_transactions_before_gmail_and_one_after(
        client: Any, site: Any, alice: Any, container: Any, gmail: GmailSandbox,
        size: int, idempotency_key: str | None) -> None:
    raw = make_message(body="x" * size)
    begun = _transactions(container)
    headers = {**site.auth, **({"Idempotency-Key": idempotency_key} if idempotency_key else {})}
    response = client.post("/v1/messages", json={"raw": b64url(raw)}, headers=headers)
    assert response.status_code == 200
    assert gmail.sent[-1].raw == raw
    # The key check; the connection and its cached token (and the key's claim); the audit.
    assert len(begun) == 3


def test_a_refused_key_is_not_counted_as_a_send(client: Any, alice: Any) -> None:
    before = scrape(client)
    client.post("/v1/messages", json={"raw": b64url(make_message())}, headers=WRONG_KEY)
    after = scrape(client)
    assert sample(after, "gmail_oneclick_sends", "gmail_oneclick_sends_total",
                  outcome="unauthorized") == 0
    assert sample(after, "gmail_oneclick_send_duration_seconds",
                  "gmail_oneclick_send_duration_seconds_count") == sample(
        before, "gmail_oneclick_send_duration_seconds",
        "gmail_oneclick_send_duration_seconds_count")
