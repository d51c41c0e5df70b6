"""A body that ends before its Content-Length (a client that died mid-upload) is refused under
the Procfile's gunicorn, which hands the application whatever arrived: 400 ``invalid_request``,
nothing sent to Gmail, nothing written. Raw sockets, since no HTTP client sends such a request."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from gmail_oneclick.sandbox.gmail_state import gmail_state
from gmail_oneclick.settings import Settings
from tests.conftest import RegisteredSite
from tests.multiprocess.conftest import connect
from tests.procfile_web import web_process

pytestmark = pytest.mark.slow

MESSAGE = (b"From: Example Blog <alice@example.com>\r\nTo: reader@example.org\r\n"
           b"Subject: Half a message\r\n\r\n" + b"The first half. " * 200 + b"\r\n")


@pytest.fixture
def web(settings: Settings, app: Any) -> Iterator[str]:
    # ``app`` migrates nothing more but owns the database the ``site`` fixture writes to.
    with web_process(settings) as url:
        yield url


def send_short(url: str, path: str, headers: dict[str, str], body: bytes, missing: int) -> str:
    """Announce ``len(body)`` bytes, send all but the last ``missing``, close the write side;
    the raw answer."""
    where = urlsplit(url)
    head = [f"POST {path} HTTP/1.1", f"Host: {where.netloc}", f"Content-Length: {len(body)}",
            "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body[:len(body) - missing])
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.decode(errors="replace")


def error_of(answer: str) -> tuple[int, dict[str, Any]]:
    status = int(answer.split(" ", 2)[1])
    return status, json.loads(answer.split("\r\n\r\n", 1)[1])


@pytest.mark.parametrize("content_type,path", [
    ("application/json", "/v1/messages"),
    ("message/rfc822", "/v1/messages"),
    ("application/json", "/wp-json/gmail-oauth/v1/send-email"),
])
def test_a_send_whose_body_ends_early_is_refused_and_nothing_reaches_gmail(
    web: str, site: RegisteredSite, sandbox: Any, content_type: str, path: str
) -> None:
    connect(SimpleNamespace(url=web), site, "alice@example.com")  # type: ignore[arg-type]
    if content_type == "message/rfc822":
        body = MESSAGE
    else:
        field = "raw" if path == "/v1/messages" else "message"
        encoded = base64.urlsafe_b64encode(MESSAGE).decode().rstrip("=")
        # The field last, so that the part that arrives is a valid JSON prefix up to its end.
        body = json.dumps({field: encoded}).encode()
    for missing in (1, len(body) // 2):
        answer = send_short(web, path, {**site.auth, "Content-Type": content_type}, body,
                            missing)
        status, error = error_of(answer)
        assert status == 400, answer
        code = error["code"] if path.startswith("/wp-json/") else error["error"]["code"]
        message = error["message"] if path.startswith("/wp-json/") else error["error"]["message"]
        assert (code, message) == (
            "invalid_request", "the request body ended before its Content-Length")
    assert gmail_state(sandbox.state).sent == []
    whole = requests.post(web + path, data=body, timeout=10,
                          headers={**site.auth, "Content-Type": content_type})
    assert whole.status_code == 200, whole.text  # the same body, whole, is sent
    assert len(gmail_state(sandbox.state).sent) == 1


def test_a_connect_link_request_whose_body_ends_early_creates_nothing(
    web: str, site: RegisteredSite, container: Any
) -> None:
    body = json.dumps({"login_hint": "alice@example.com",
                       "return_url": "https://blog.example.com/wp-admin/"}).encode()
    answer = send_short(web, "/v1/connections",
                        {**site.auth, "Content-Type": "application/json"}, body, 5)
    assert error_of(answer) == (400, {"error": {
        "code": "invalid_request", "message": "the request body ended before its Content-Length"}})
    with container.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM connect_links")).scalar_one() == 0
