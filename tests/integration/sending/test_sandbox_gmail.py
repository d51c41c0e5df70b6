"""The sandbox's Gmail side speaks Google's shapes (driven with plain requests)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from gmail_oneclick.sandbox.gmail_state import GmailSandbox
from tests.accounts import grant_tokens
from tests.integration.sending.conftest import b64url, make_message

SEND = "/gmail/v1/users/me/messages/send"
UPLOAD = "/upload/gmail/v1/users/me/messages/send"


@pytest.fixture
def token(sandbox: Any) -> str:
    return str(grant_tokens(sandbox, "alice@example.com")["access_token"])


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_bad_token_is_googles_401(sandbox: Any, gmail: GmailSandbox):
    r = requests.post(sandbox.url + SEND, json={"raw": b64url(make_message())},
                      headers=_auth("ya29.nope"), timeout=5)
    assert r.status_code == 401 and "invalid_token" in r.headers["WWW-Authenticate"]
    error = r.json()["error"]
    assert error["status"] == "UNAUTHENTICATED"
    assert error["errors"][0] == {"message": "Invalid Credentials", "domain": "global",
                                  "reason": "authError"}


def test_no_recipient_is_invalid_argument(sandbox: Any, token: str, gmail: GmailSandbox):
    raw = b"From: alice@example.com\r\nSubject: x\r\n\r\nbody"
    r = requests.post(sandbox.url + SEND, json={"raw": b64url(raw)}, headers=_auth(token),
                      timeout=5)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Recipient address required"
    assert r.json()["error"]["errors"][0]["reason"] == "invalidArgument"


def test_multipart_upload_keeps_bytes_and_thread(sandbox: Any, token: str, gmail: GmailSandbox):
    raw = make_message(body="multi\r\npart\r\n")
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n"
            f"{json.dumps({'threadId': 't123'})}\r\n--{boundary}\r\n"
            "Content-Type: message/rfc822\r\n\r\n").encode() + raw + \
        f"\r\n--{boundary}--".encode()
    r = requests.post(sandbox.url + UPLOAD + "?uploadType=multipart", data=body, timeout=5,
                      headers={**_auth(token),
                               "Content-Type": f'multipart/related; boundary="{boundary}"'})
    assert r.status_code == 200, r.text
    assert r.json()["threadId"] == "t123" and r.json()["labelIds"] == ["SENT"]
    assert gmail.sent_by_id(r.json()["id"]).raw == raw


def test_resumable_upload_in_chunks_answers_308_until_complete(sandbox: Any, token: str,
                                                               gmail: GmailSandbox):
    raw = make_message(body="z" * 600_000)
    start = requests.post(sandbox.url + UPLOAD + "?uploadType=resumable", timeout=5, headers={
        **_auth(token), "X-Upload-Content-Type": "message/rfc822",
        "X-Upload-Content-Length": str(len(raw))})
    assert start.status_code == 200
    session = start.headers["Location"]
    assert session.startswith(sandbox.url + UPLOAD) and "upload_id=" in session
    half = 262_144
    first = requests.put(session, data=raw[:half], timeout=5, headers={
        "Content-Range": f"bytes 0-{half - 1}/{len(raw)}"})
    assert first.status_code == 308 and first.headers["Range"] == f"bytes=0-{half - 1}"
    rest = requests.put(session, data=raw[half:], timeout=5, headers={
        "Content-Range": f"bytes {half}-{len(raw) - 1}/{len(raw)}"})
    assert rest.status_code == 200
    assert gmail.sent_by_id(rest.json()["id"]).raw == raw


def test_upload_over_35mb_is_413(sandbox: Any, token: str, gmail: GmailSandbox):
    r = requests.post(sandbox.url + UPLOAD + "?uploadType=resumable", timeout=5, headers={
        **_auth(token), "X-Upload-Content-Type": "message/rfc822",
        "X-Upload-Content-Length": str(36_700_161)})
    assert r.status_code == 413
    assert gmail.sent_count() == 0


def test_429_carries_retry_after_header_and_message(sandbox: Any, token: str,
                                                   gmail: GmailSandbox):
    gmail.inject_fault("429")
    r = requests.post(sandbox.url + SEND, json={"raw": b64url(make_message())},
                      headers=_auth(token), timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert "Retry after 20" in r.json()["error"]["message"]


def test_unknown_fault_kind_is_refused(gmail: GmailSandbox):
    with pytest.raises(ValueError, match="unknown Gmail fault"):
        gmail.inject_fault("teapot")
