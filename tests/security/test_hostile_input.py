"""Hostile input on the unauthenticated and plugin endpoints: bounded reads, strict fields."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.conftest import RegisteredSite


class EndlessBody(io.RawIOBase):
    """A request body that never ends (chunked upload from an attacker). Fails the test loudly
    if the service reads far past any sensible limit instead of refusing."""

    def __init__(self, fail_after: int) -> None:
        self.served = 0
        self.fail_after = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.served > self.fail_after:
            raise AssertionError(f"the service read more than {self.fail_after} bytes")
        n = len(buffer)
        buffer[:n] = b" " * n
        self.served += n
        return n


def chunked(body: EndlessBody) -> dict[str, Any]:
    """WSGI environ of a chunked upload: no Content-Length, a stream the server says ends."""
    return {"wsgi.input": body, "wsgi.input_terminated": True}


@pytest.mark.parametrize("path,content_type", [
    ("/risc", "application/secevent+jwt"),
    ("/v1/sites", "application/json"),
])
def test_an_endless_chunked_body_is_refused_without_reading_it_all(
    client: Any, path: str, content_type: str
) -> None:
    body = EndlessBody(fail_after=4 * 1024 * 1024)
    response = client.post(path, environ_overrides=chunked(body),
                           headers={"Content-Type": content_type,
                                    "Transfer-Encoding": "chunked"})
    assert response.status_code in (400, 413), response.get_data(as_text=True)
    assert body.served <= 1024 * 1024


def test_an_endless_chunked_body_to_create_a_link_is_a_400(
    client: Any, site: RegisteredSite
) -> None:
    body = EndlessBody(fail_after=4 * 1024 * 1024)
    response = client.post("/v1/connections", environ_overrides=chunked(body),
                           headers={**site.auth, "Content-Type": "application/json",
                                    "Transfer-Encoding": "chunked"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"
    assert body.served <= 1024 * 1024


@pytest.mark.parametrize("hint", ["alice@example.com\n", "alice@example.com\r\n",
                                  "alice@example.com\nX-Evil: 1"])
def test_a_login_hint_with_a_line_break_is_refused(
    client: Any, site: RegisteredSite, hint: str
) -> None:
    response = client.post("/v1/connections", headers=site.auth, json={
        "return_url": "https://blog.example.com/wp-admin/", "login_hint": hint})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"
