"""Bad input gets its own 4xx code, and nothing reaches Gmail."""

from __future__ import annotations

from typing import Any

import pytest

from gmail_oneclick.sandbox.gmail_state import GmailSandbox
from tests.integration.sending.conftest import b64url, make_message


def _error(response: Any) -> dict[str, str]:
    return dict(response.get_json()["error"])


@pytest.mark.parametrize("raw_value", ["%%%not base64%%%", "YWJj$$$", 42, ""])
def test_raw_that_is_not_base64_is_invalid_message(post: Any, alice: Any, gmail: GmailSandbox,
                                                   raw_value: Any):
    response = post(json={"raw": raw_value})
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_message"
    assert gmail.send_requests == 0


def test_missing_raw_is_invalid_message(post: Any, alice: Any, gmail: GmailSandbox):
    response = post(json={"connection_id": alice.id})
    assert response.status_code == 400 and _error(response)["code"] == "invalid_message"


def test_text_that_is_not_mime_is_invalid_message(post: Any, alice: Any, gmail: GmailSandbox):
    response = post(b"just some words, no header at all\r\n\r\nand more")
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_message"
    assert "RFC 5322" in _error(response)["message"]
    assert gmail.send_requests == 0


def test_message_without_recipients_is_invalid_message(post: Any, alice: Any,
                                                       gmail: GmailSandbox):
    raw = b"From: alice@example.com\r\nSubject: nobody\r\n\r\nbody\r\n"
    response = post(raw)
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_message"
    assert "recipients" in _error(response)["message"]
    assert gmail.send_requests == 0


def test_undisclosed_recipients_group_alone_counts_as_no_recipient(post: Any, alice: Any):
    raw = b"From: alice@example.com\r\nTo: undisclosed-recipients:;\r\n\r\nbody\r\n"
    assert _error(post(raw))["code"] == "invalid_message"


def test_bcc_only_message_is_accepted(post: Any, alice: Any, gmail: GmailSandbox):
    raw = b"From: alice@example.com\r\nBcc: hidden@example.net\r\nSubject: s\r\n\r\nbody\r\n"
    response = post(raw)
    assert response.status_code == 200
    assert "hidden@example.net" not in response.get_data(as_text=True)


def test_more_recipients_than_gmail_allows_is_refused(post: Any, alice: Any,
                                                     gmail: GmailSandbox):
    to = ", ".join(f"r{i}@example.net" for i in range(60))
    cc = ", ".join(f"c{i}@example.net" for i in range(41))
    response = post(make_message(to=to, cc=cc))
    assert response.status_code == 400
    assert _error(response)["code"] == "too_many_recipients"
    assert "101" in _error(response)["message"]
    assert gmail.send_requests == 0


def test_exactly_one_hundred_recipients_is_fine(post: Any, alice: Any, gmail: GmailSandbox):
    to = ", ".join(f"r{i}@example.net" for i in range(100))
    assert post(make_message(to=to)).status_code == 200


def test_empty_rfc822_body_is_invalid_message(client: Any, site: Any, alice: Any,
                                              gmail: GmailSandbox):
    response = client.post("/v1/messages", data=b"",
                           headers={**site.auth, "Content-Type": "message/rfc822"})
    assert response.status_code == 400 and _error(response)["code"] == "invalid_message"
    assert gmail.send_requests == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_wrong_content_type_is_415(client: Any, site: Any, alice: Any, gmail: GmailSandbox,
                                  content_type: str):
    response = client.post("/v1/messages", data=make_message(),
                           headers={**site.auth, "Content-Type": content_type})
    assert response.status_code == 415
    assert _error(response)["code"] == "unsupported_media_type"
    assert gmail.send_requests == 0


def test_json_that_is_not_an_object_is_invalid_request(client: Any, site: Any, alice: Any):
    response = client.post("/v1/messages", data=b"[1, 2]",
                           headers={**site.auth, "Content-Type": "application/json"})
    assert response.status_code == 400 and _error(response)["code"] == "invalid_request"


def test_announced_length_over_the_limit_is_413_before_reading(client: Any, site: Any,
                                                              alice: Any, gmail: GmailSandbox):
    class Endless:
        """A body that would take forever to read: the answer must come from the header."""

        read_calls = 0
        position = 0

        def tell(self) -> int:
            return self.position

        def seek(self, offset: int, whence: int = 0) -> int:
            self.position = 36_700_161 if whence == 2 else offset
            return self.position

        def read(self, n: int = -1) -> bytes:
            Endless.read_calls += 1
            return b"x" * 65536

    response = client.post("/v1/messages", input_stream=Endless(), headers={
        **site.auth, "Content-Type": "message/rfc822", "Content-Length": str(36_700_161)})
    assert response.status_code == 413
    assert _error(response)["code"] == "message_too_large"
    assert Endless.read_calls == 0
    assert gmail.send_requests == 0


def test_unannounced_body_over_the_limit_is_413_while_streaming(client: Any, site: Any,
                                                               alice: Any, gmail: GmailSandbox):
    import io

    big = io.BytesIO(make_message() + b"x" * 36_700_160)
    # A chunked body: no Content-Length, the server reads until the stream ends.
    response = client.post(
        "/v1/messages", input_stream=big,
        headers={**site.auth, "Content-Type": "message/rfc822"},
        environ_overrides={"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked",
                           "wsgi.input_terminated": True})
    assert response.status_code == 413
    assert _error(response)["code"] == "message_too_large"
    assert gmail.send_requests == 0


def test_json_raw_decoding_over_the_limit_is_413(post: Any, alice: Any, gmail: GmailSandbox):
    raw = make_message() + b"y" * 36_700_160
    response = post(raw)
    assert response.status_code == 413
    assert _error(response)["code"] == "message_too_large"
    assert gmail.send_requests == 0


def test_errors_never_echo_the_message(post: Any, alice: Any):
    raw = b"From: alice@example.com\r\nSubject: SECRET-SUBJECT\r\n\r\nSECRET-BODY\r\n"
    text = post(raw).get_data(as_text=True) + post(json={"raw": b64url(b"SECRET-ONLY")}) \
        .get_data(as_text=True)
    assert "SECRET" not in text
