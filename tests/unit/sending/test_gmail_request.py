"""The Gmail adapter sends exactly the request google-api-python-client builds for
``users.messages.send`` (it builds that request once and reuses its URI and headers)."""

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
    ours = _RecordingHttp()
    monkeypatch.setattr(client, "_thread_http", lambda: ours)
    theirs = _RecordingHttp()
    library = build("gmail", "v1", http=httplib2.Http(), static_discovery=True,
                    client_options={"api_endpoint": ENDPOINT}).users().messages()
    # Two sends of different sizes: nothing of the first (length, token) may reach the second.
    for token, raw in (("token-a", _message("short")), ("token-b", _message("much longer"))):
        client.send(token, io.BytesIO(raw), len(raw))
        body = {"raw": base64.urlsafe_b64encode(raw).decode()}
        library.send(userId="me", body=body).execute(http=BearerHttp(theirs, token))
    assert ours.requests == theirs.requests
    (uri, method, _, headers), second = ours.requests[0], ours.requests[1]
    assert (method, uri) == ("POST", ENDPOINT + "gmail/v1/users/me/messages/send?alt=json")
    assert headers["authorization"] == "Bearer token-a"
    assert second[3]["authorization"] == "Bearer token-b"
    assert second[3]["content-length"] == str(len(second[2]))
