"""The Gmail adapter keeps its connection to Gmail open between sends (no new TCP and TLS
handshake per message) without ever letting one send's access token reach another's request.

The sandbox answers ``Connection: close`` like every werkzeug server, so this talks to a
minimal HTTP/1.1 keep-alive server that records which connection each request came on.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gmail_oneclick.adapters.google.gmail import GmailApiClient
from gmail_oneclick.ports import GmailUnauthorized

RAW = b"From: a@example.com\r\nTo: b@example.net\r\n\r\nhi\r\n"


class _KeepAliveGmail(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[int, str | None]] = []  # (client port, Authorization) per request

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        authorization = self.headers.get("Authorization")
        self.seen.append((self.client_address[1], authorization))
        status, body = (401, {"error": {"code": 401}}) if authorization == "Bearer bad" \
            else (200, {"id": f"m{len(self.seen)}", "threadId": "t1"})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def keepalive_gmail() -> Iterator[tuple[str, list[tuple[int, str | None]]]]:
    seen: list[tuple[int, str | None]] = []
    handler = type("Handler", (_KeepAliveGmail,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def gmail_client(settings: Any, keepalive_gmail: Any) -> Iterator[GmailApiClient]:
    client = GmailApiClient(settings.replace(gmail_api_endpoint=keepalive_gmail[0]))
    yield client
    client.close()


def _send(client: GmailApiClient, token: str) -> str:
    return client.send(token, io.BytesIO(RAW), len(RAW)).id


def test_sends_reuse_one_connection_each_with_its_own_token(gmail_client: GmailApiClient,
        keepalive_gmail: Any) -> None:
    client, seen = gmail_client, keepalive_gmail[1]
    _send(client, "token-of-alice")
    _send(client, "token-of-bob")
    _send(client, "token-of-alice")
    assert [auth for _, auth in seen] == ["Bearer token-of-alice", "Bearer token-of-bob",
                                          "Bearer token-of-alice"]
    assert len({port for port, _ in seen}) == 1  # one TCP connection for all three


def test_each_thread_has_its_own_connection(gmail_client: GmailApiClient,
        keepalive_gmail: Any) -> None:
    client, seen = gmail_client, keepalive_gmail[1]
    _send(client, "token-main")
    other = threading.Thread(target=_send, args=(client, "token-other"))
    other.start()
    other.join()
    _send(client, "token-main")
    ports = {auth: port for port, auth in seen}
    assert ports["Bearer token-main"] != ports["Bearer token-other"]
    assert seen[0][0] == seen[2][0]


def test_a_refused_token_is_not_sent_again_with_the_next_send(gmail_client: GmailApiClient,
        keepalive_gmail: Any) -> None:
    client, seen = gmail_client, keepalive_gmail[1]
    with pytest.raises(GmailUnauthorized):
        _send(client, "bad")
    _send(client, "good")
    assert [auth for _, auth in seen] == ["Bearer bad", "Bearer good"]
