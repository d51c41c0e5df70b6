"""Which failures of a send may be retried: only those where Gmail cannot have taken it."""

from __future__ import annotations

import io
import json
from typing import Any, BinaryIO

import httplib2
import pytest
from googleapiclient.errors import HttpError

from gmail_oneclick.adapters.google.gmail import _map_http_error
from gmail_oneclick.adapters.google.gmail_http import completes_message
from gmail_oneclick.domain import errors
from gmail_oneclick.ports import (
    GmailDeliveryUnknown,
    GmailRateLimited,
    GmailSent,
    TransientUpstream,
)
from gmail_oneclick.services import sending

UPLOAD = "https://gmail.googleapis.com/upload/gmail/v1/users/me/messages/send"
SEND = "https://gmail.googleapis.com/gmail/v1/users/me/messages/send?alt=json"


@pytest.mark.parametrize(("uri", "method", "headers", "completes"), [
    (SEND, "POST", {}, True),
    (UPLOAD + "?uploadType=media&alt=json", "POST", {}, True),
    (UPLOAD + "?uploadType=multipart&alt=json", "POST", {}, True),
    (UPLOAD + "?uploadType=resumable&alt=json", "POST", {}, False),  # opens a session only
    (UPLOAD + "?upload_id=x", "PUT", {"Content-Range": "bytes 0-262143/600000"}, False),
    (UPLOAD + "?upload_id=x", "PUT", {"content-range": "bytes 524288-599999/600000"}, True),
    (UPLOAD + "?upload_id=x", "PUT", {"Content-Range": "bytes */600000"}, True),  # a query: assume
    (UPLOAD + "?upload_id=x", "PUT", {}, True),
])
def test_only_requests_that_cannot_complete_the_message_are_safe_to_lose(
        uri: str, method: str, headers: dict[str, str], completes: bool) -> None:
    assert completes_message(uri, method, headers) is completes


def _http_error(status: int) -> HttpError:
    body = {"error": {"code": status, "message": "m", "errors": [{"reason": "backendError"}]}}
    return HttpError(httplib2.Response({"status": str(status)}), json.dumps(body).encode())


@pytest.mark.parametrize(("status", "kind"), [
    (500, TransientUpstream), (503, TransientUpstream),
    (502, GmailDeliveryUnknown), (504, GmailDeliveryUnknown), (408, GmailDeliveryUnknown),
])
def test_only_500_and_503_say_gmail_did_not_take_the_message(status: int, kind: type) -> None:
    assert type(_map_http_error(_http_error(status))) is kind


def test_a_gateway_error_on_a_request_that_cannot_deliver_is_only_transient() -> None:
    mapped = _map_http_error(_http_error(504), could_deliver=False)
    assert type(mapped) is TransientUpstream


class _Gmail:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls = 0

    def send(self, access_token: str, message: BinaryIO, size: int) -> GmailSent:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return GmailSent("m1", "t1")


def _run(gmail: _Gmail, sleeps: list[float]) -> GmailSent:
    s = sending.Sending(uow_factory=None, google=None, gmail=gmail,  # type: ignore[arg-type]
                        clock=None, sleep=sleeps.append)  # type: ignore[arg-type]
    out = sending.Outgoing(site_id="s", message=io.BytesIO(b"x"), size=1)
    return sending._send_with_retries(s, "c1", out, token="t")


def test_a_lost_answer_is_never_retried() -> None:
    gmail, sleeps = _Gmail(GmailDeliveryUnknown("timeout"), "ok"), []
    with pytest.raises(errors.DeliveryUnknown) as raised:
        _run(gmail, sleeps)
    assert (raised.value.status, raised.value.code) == (504, "delivery_unknown")
    assert gmail.calls == 1 and sleeps == []


def test_a_429_is_retried_after_googles_wait_only_when_it_is_short() -> None:
    sleeps: list[float] = []
    assert _run(_Gmail(GmailRateLimited("slow down", retry_after=2), "ok"), sleeps).id == "m1"
    assert sleeps == [2]
    long_wait = _Gmail(GmailRateLimited("slow down", retry_after=30), "ok")
    with pytest.raises(errors.RateLimited) as raised:
        _run(long_wait, [])
    assert raised.value.retry_after == 30 and long_wait.calls == 1
