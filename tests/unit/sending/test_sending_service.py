"""The send use case with fakes: retry policy and the 401 rule, no database round trips."""

from __future__ import annotations

import io
from contextlib import contextmanager
from typing import Any, BinaryIO

import pytest

from gmail_oneclick.domain import errors
from gmail_oneclick.ports import GmailSent, GmailUnauthorized, TransientUpstream
from gmail_oneclick.services import sending

RAW = b"From: a@x.io\r\nTo: b@x.io\r\n\r\nhi"


class FakeGmail:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.tokens: list[str] = []

    def send(self, access_token: str, message: BinaryIO, size: int) -> GmailSent:
        self.tokens.append(access_token)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert message.read(size) == RAW
        return GmailSent("m1", "t1")


@pytest.fixture
def fake_tokens(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """services.tokens.access_token replaced: records each call's ``rejected``."""
    calls: list[str | None] = []

    def access_token(*args: Any, rejected: str | None = None, **kw: Any) -> str:
        calls.append(rejected)
        return f"token-{len(calls)}"

    monkeypatch.setattr(sending.tokens, "access_token", access_token)
    return calls


def _sending(gmail: FakeGmail, sleeps: list[float], attempts: int = 3) -> sending.Sending:
    @contextmanager
    def no_uow() -> Any:
        raise AssertionError("not used")
        yield

    return sending.Sending(uow_factory=no_uow, google=None, gmail=gmail,  # type: ignore[arg-type]
                           clock=None, attempts=attempts, sleep=sleeps.append)  # type: ignore[arg-type]


def _out() -> sending.Outgoing:
    return sending.Outgoing(site_id="s", message=io.BytesIO(RAW), size=len(RAW))


def test_401_refreshes_with_the_rejected_token_and_retries_once(fake_tokens: list[Any]) -> None:
    gmail = FakeGmail(GmailUnauthorized("x"), "ok")
    sent = sending._send_with_retries(_sending(gmail, []), "c1", _out())
    assert sent.id == "m1"
    assert fake_tokens == [None, "token-1"] and gmail.tokens == ["token-1", "token-2"]


def test_5xx_retries_are_bounded_and_jittered(fake_tokens: list[Any]) -> None:
    sleeps: list[float] = []
    gmail = FakeGmail(*[TransientUpstream("503")] * 5)
    with pytest.raises(errors.UpstreamUnavailable):
        sending._send_with_retries(_sending(gmail, sleeps, attempts=4), "c1", _out())
    assert len(gmail.tokens) == 4 and len(sleeps) == 3
    assert all(0 <= s <= 4.0 for s in sleeps)


def test_error_messages_are_ours_not_googles() -> None:
    from gmail_oneclick.ports import GmailRejected

    error = sending.rejected_error(
        GmailRejected("Invalid To header: secret@x.io", status=400, reason="invalidArgument"))
    assert error.code == "invalid_message" and "secret" not in error.message
