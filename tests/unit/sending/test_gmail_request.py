"""The Gmail adapter sends exactly the request google-api-python-client builds for
``users.messages.send`` (it builds that request once and reuses its URI and headers), on its
own kept-alive connection: only what that connection handles itself differs (it computes
Content-Length, and asks for an uncompressed answer)."""

from __future__ import annotations

import base64
import io
from typing import Any

import httplib2
import pytest
from googleapiclient.discovery import build

from gmail_oneclick.adapters.google.gmail import GmailApiClient
from gmail_oneclick.adapters.google.gmail_http import BearerHttp
from gmail_oneclick.settings import Settings

ENDPOINT = "http://gmail.test:9/prefix/"


class _RecordingConnection:
    """Stands in for a thread's KeptAlive connection; answers every POST with a sent message."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []

    def post(self, target: str, body: bytes, headers: dict[str, str]) -> Any:
        self.requests.append(("http://gmail.test:9" + target, "POST", body.decode(),
                              dict(headers)))
        n = len(self.requests)
        return {"status": "200"}, f'{{"id": "m{n}", "threadId": "t{n}"}}'.encode()


class _RecordingHttp:
    """Answers every request with a sent message and keeps what it was asked."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []

    def request(self, uri: str, method: str = "GET", body: Any = None,
                headers: dict[str, str] | None = None, *args: Any, **kwargs: Any) -> Any:
        self.requests.append((uri, method, body, dict(headers or {})))
        n = len(self.requests)
        return httplib2.Response({"status": 200}), f'{{"id": "m{n}", "threadId": "t{n}"}}'.encode()


def _message(subject: str) -> bytes:
    return (f"From: a@example.com\r\nTo: b@example.net\r\nSubject: {subject}\r\n\r\n"
            "hello\r\n").encode()


@pytest.fixture
def client() -> Any:
    adapter = GmailApiClient(Settings(database_url="sqlite://", encryption_keys="",
                                      gmail_api_endpoint=ENDPOINT))
    yield adapter
    adapter.close()


def test_each_small_send_is_the_librarys_own_request_with_its_own_body_and_token(
        client: GmailApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _RecordingConnection()
    monkeypatch.setattr(client, "_thread_connection", lambda: ours)
    theirs = _RecordingHttp()
    library = build("gmail", "v1", http=httplib2.Http(), static_discovery=True,
                    client_options={"api_endpoint": ENDPOINT}).users().messages()
    # Two sends of different sizes: nothing of the first (length, token) may reach the second.
    for token, raw in (("token-a", _message("short")), ("token-b", _message("much longer"))):
        client.send(token, io.BytesIO(raw), len(raw))
        body = {"raw": base64.urlsafe_b64encode(raw).decode()}
        library.send(userId="me", body=body).execute(http=BearerHttp(theirs, token))
    connection_handles = ("content-length", "accept-encoding")
    assert ours.requests == [
        (uri, method, body, {k: v for k, v in headers.items() if k not in connection_handles})
        for uri, method, body, headers in theirs.requests]
    (uri, method, _, headers), second = ours.requests[0], ours.requests[1]
    assert (method, uri) == ("POST", ENDPOINT + "gmail/v1/users/me/messages/send?alt=json")
    assert headers["authorization"] == "Bearer token-a"
    assert second[3]["authorization"] == "Bearer token-b"
    assert theirs.requests[1][3]["content-length"] == str(len(second[2]))
