"""At most one delivery per request: a send is retried only when Gmail cannot have taken the
message; a lost answer is 504 ``delivery_unknown``, and a repeat with the same Idempotency-Key
answers it again without sending. Counted in what the sandbox's Gmail received."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gmail_oneclick.adapters.google import gmail as gmail_adapter
from gmail_oneclick.adapters.google.gmail import GmailApiClient
from gmail_oneclick.bootstrap import SendPolicy
from gmail_oneclick.sandbox import start_sandbox
from gmail_oneclick.sandbox.gmail_state import GmailSandbox
from tests.integration.consent.conftest import FakeClock
from tests.integration.sending.conftest import b64url, make_message

KEY = {"Idempotency-Key": "invoice-77"}
UNKNOWN_TEXT = "The message may have been sent; check the Sent folder before sending again."


def _error(response: Any) -> dict[str, Any]:
    return dict(response.get_json()["error"])


def test_a_lost_answer_is_delivery_unknown_and_a_repeat_sends_nothing(
        post: Any, alice: Any, gmail: GmailSandbox, fast_retries: None):
    gmail.inject_fault("drop_after_accept")  # Gmail takes the message, the answer never comes
    raw = make_message()
    first = post(raw, headers=KEY)
    assert first.status_code == 504
    assert _error(first) == {"code": "delivery_unknown", "message": UNKNOWN_TEXT}
    assert "Retry-After" not in first.headers
    assert gmail.sent_count() == 1 and gmail.send_requests == 1
    again = post(raw, headers=KEY)
    assert again.status_code == 504 and _error(again)["code"] == "delivery_unknown"
    assert gmail.sent_count() == 1 and gmail.send_requests == 1


def test_an_answer_stalled_past_the_timeout_is_delivery_unknown_and_sent_once(
        post: Any, alice: Any, gmail: GmailSandbox, fast_retries: None, container: Any):
    container.gmail = GmailApiClient(container.settings.replace(http_timeout=0.3))
    gmail.slow_seconds = 0.8
    gmail.inject_fault("stall_after_accept")
    response = post(make_message(), headers=KEY)
    assert response.status_code == 504 and _error(response)["code"] == "delivery_unknown"
    assert gmail.sent_count() == 1 and gmail.send_requests == 1


def test_the_post_smtp_route_answers_delivery_unknown_in_its_shape(
        client: Any, site: Any, alice: Any, gmail: GmailSandbox, fast_retries: None):
    gmail.inject_fault("drop_after_accept")
    raw = make_message()
    body = {"message": b64url(raw), "headers": "", "site_url": "https://blog.example.com"}
    headers = {**site.auth, **KEY}
    for _ in range(2):
        response = client.post("/wp-json/gmail-oauth/v1/send-email", json=body, headers=headers)
        assert response.status_code == 504
        assert response.get_json() == {"error": True, "code": "delivery_unknown",
                                       "message": UNKNOWN_TEXT}
    assert gmail.sent_count() == 1 and gmail.send_requests == 1


def test_a_resumable_upload_whose_last_answer_is_lost_is_sent_once(
        post: Any, alice: Any, gmail: GmailSandbox, fast_retries: None, container: Any,
        monkeypatch: pytest.MonkeyPatch):
    # Small numbers so a 600 kB message takes the resumable path in three chunks.
    monkeypatch.setattr(gmail_adapter, "RESUMABLE_ABOVE", 300_000)
    monkeypatch.setattr(gmail_adapter, "CHUNK_SIZE", 256 * 1024)
    container.gmail = GmailApiClient(
        container.settings.replace(gmail_upload_threshold=100_000))
    raw = make_message(attachment=os.urandom(450_000))
    gmail.inject_fault("drop_after_accept")
    first = post(raw, headers=KEY)
    assert first.status_code == 504 and _error(first)["code"] == "delivery_unknown"
    assert post(raw, headers=KEY).status_code == 504
    assert [(m.path, m.raw == raw) for m in gmail.sent] == [("resumable", True)]
    assert gmail.send_requests == 1


def test_a_refused_connection_is_retried_and_the_message_delivered_once(
        post: Any, alice: Any, sandbox: Any, gmail: GmailSandbox, container: Any):
    with socket.socket() as probe:  # a loopback port where nothing listens: connect refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started: list[Any] = []

    def gmail_comes_back(delay: float) -> None:  # the backoff sleep: Gmail is reachable again
        if not started:
            started.append(start_sandbox(state=sandbox.state, port=port))

    container.send_policy = SendPolicy(sleep=gmail_comes_back)
    container.gmail = GmailApiClient(
        container.settings.replace(gmail_api_endpoint=f"http://127.0.0.1:{port}/"))
    try:
        response = post(make_message(), headers=KEY)
    finally:
        for server in started:
            server.stop()
    assert response.status_code == 200, response.get_json()
    assert len(started) == 1  # one retry, after the refused connection
    assert gmail.sent_count() == 1 and gmail.send_requests == 1


@pytest.mark.parametrize("fault", ["500", "503"])
def test_500_and_503_are_retried_and_the_message_delivered_once(
        post: Any, alice: Any, gmail: GmailSandbox, fast_retries: None, fault: str):
    gmail.inject_fault(fault)
    response = post(make_message(), headers=KEY)
    assert response.status_code == 200
    assert gmail.send_requests == 2 and gmail.sent_count() == 1


def test_a_429_with_a_short_wait_is_retried_after_googles_wait(
        post: Any, alice: Any, gmail: GmailSandbox, container: Any):
    sleeps: list[float] = []
    container.send_policy = SendPolicy(sleep=sleeps.append)
    gmail.retry_after_seconds = 1  # "Retry after <now + 1 s>": within the backoff cap
    gmail.inject_fault("429")
    response = post(make_message())
    assert response.status_code == 200
    assert sleeps == [1]
    assert gmail.send_requests == 2 and gmail.sent_count() == 1


# -- a send whose process died: the key's lease ------------------------------------------------
class _WorkerAborted:
    """A Gmail adapter interrupted as gunicorn aborts a worker mid-send (SystemExit)."""

    def send(self, *args: Any) -> Any:
        raise SystemExit(1)


def test_a_key_left_by_a_dead_send_is_in_progress_until_its_lease_ends_then_unknown(
        post: Any, alice: Any, gmail: GmailSandbox, container: Any):
    clock = FakeClock(datetime.now(UTC))
    container.clock = clock
    container.settings = container.settings.replace(idempotency_lease_seconds=60)
    raw = make_message()
    real_gmail, container.gmail = container.gmail, _WorkerAborted()
    with pytest.raises(SystemExit):
        post(raw, headers=KEY)
    container.gmail = real_gmail  # the real adapter again, for any repeat that would send

    clock.advance(seconds=15)
    busy = post(raw, headers=KEY)
    assert busy.status_code == 409 and _error(busy)["code"] == "idempotency_in_progress"
    assert busy.headers["Retry-After"] == "45"  # the rest of the 60 s lease
    clock.advance(seconds=45)
    for _ in range(2):  # resolved, and never sent by itself
        late = post(raw, headers=KEY)
        assert late.status_code == 504
        assert _error(late) == {"code": "delivery_unknown", "message": UNKNOWN_TEXT}
    assert gmail.send_requests == 0 and gmail.sent_count() == 0


# -- a kept-alive connection the server closed while idle ---------------------------------------
class _ClosesAfterEachAnswer(BaseHTTPRequestHandler):
    """Answers as HTTP/1.1 without "Connection: close", then closes: what a server's idle
    timeout does to a kept-alive connection between two sends."""

    protocol_version = "HTTP/1.1"
    served: list[int] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.served.append(1)
        data = json.dumps({"id": f"m{len(self.served)}", "threadId": "t"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


def test_a_kept_alive_connection_closed_by_the_server_is_replaced_before_sending(
        settings: Any) -> None:
    handler = type("Handler", (_ClosesAfterEachAnswer,), {"served": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    client = GmailApiClient(settings.replace(
        gmail_api_endpoint=f"http://127.0.0.1:{server.server_address[1]}/"))
    raw = make_message()
    try:
        assert client.send("ya29.t", io.BytesIO(raw), len(raw)).id == "m1"
        time.sleep(0.2)  # the server has closed its end by now
        # Written on the dead socket, the request would fail after going out: delivery unknown.
        assert client.send("ya29.t", io.BytesIO(raw), len(raw)).id == "m2"
    finally:
        client.close()
        server.shutdown()
        server.server_close()
    assert len(handler.served) == 2
