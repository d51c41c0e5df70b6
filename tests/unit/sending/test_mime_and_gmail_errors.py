"""Header inspection and Gmail error mapping, without any network."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import httplib2
import pytest
from googleapiclient.errors import HttpError

from gmail_oneclick.adapters.google.gmail import _map_http_error, retry_after_seconds
from gmail_oneclick.adapters.google.retry_after import retry_after_header
from gmail_oneclick.domain.errors import InvalidMessage, MessageTooLarge, TooManyRecipients
from gmail_oneclick.ports import (
    GmailRateLimited,
    GmailRejected,
    GmailUnauthorized,
    TransientUpstream,
)
from gmail_oneclick.services.mime import MAX_MESSAGE_BYTES, inspect_message


def _inspect(raw: bytes) -> Any:
    return inspect_message(io.BytesIO(raw), len(raw))


def test_counts_to_cc_bcc_and_reads_from_in_lower_case() -> None:
    info = _inspect(b"From: Alice <ALICE@Example.com>\r\nTo: a@x.io, b@x.io\r\n"
                    b"Cc: c@x.io\r\nBcc: d@x.io\r\n\r\nbody")
    assert (info.from_address, info.recipients) == ("alice@example.com", 4)
    assert "alice" not in repr(info)


def test_body_is_never_read_for_headers() -> None:
    raw = b"To: a@x.io\n\nTo: b@x.io, c@x.io\n"
    assert _inspect(raw).recipients == 1


def test_headers_only_message_is_accepted() -> None:
    assert _inspect(b"To: a@x.io\r\nSubject: s").recipients == 1


@pytest.mark.parametrize("raw", [b"", b"no header here", b"\r\n\r\nbody only",
                                 b"From: a@x.io\r\n\r\nno recipients"])
def test_bad_messages_are_invalid(raw: bytes) -> None:
    with pytest.raises(InvalidMessage):
        _inspect(raw)


def test_too_many_and_too_large() -> None:
    with pytest.raises(TooManyRecipients):
        _inspect(b"To: " + b", ".join(b"r%d@x.io" % i for i in range(101)) + b"\r\n\r\n")

    class Huge(io.BytesIO):
        pass

    with pytest.raises(MessageTooLarge):
        inspect_message(Huge(b"To: a@x.io\r\n\r\n"), MAX_MESSAGE_BYTES + 1)


def _http_error(status: int, reason: str, message: str = "m", **headers: str) -> HttpError:
    resp = httplib2.Response({"status": str(status), **headers})
    body = {"error": {"code": status, "message": message, "errors": [{"reason": reason}]}}
    return HttpError(resp, json.dumps(body).encode())


def test_retry_after_comes_from_googles_message_first() -> None:
    now = datetime(2026, 11, 23, 18, 3, 0, tzinfo=UTC)
    message = "User-rate limit exceeded.  Retry after 2026-11-23T18:03:15.961Z"
    assert retry_after_seconds(message, "3", now) == 16
    assert retry_after_seconds("no time here", "3", now) == 3
    assert retry_after_seconds("past: Retry after 2020-01-01T00:00:00Z", None, now) == 1


def test_retry_after_header_reads_seconds_or_an_http_date_at_least_one_second() -> None:
    now = datetime(2026, 11, 23, 18, 3, 0, tzinfo=UTC)
    assert retry_after_header(" 7 ", now) == 7
    assert retry_after_header("Mon, 23 Nov 2026 18:03:30 GMT", now) == 30
    assert retry_after_header("Mon, 23 Nov 2026 18:00:00 GMT", now) == 1
    assert retry_after_header("soon", now) is None and retry_after_header(None, now) is None
    # Gmail's adapter reads the same header when its message names no time.
    assert retry_after_seconds("no time here", "Mon, 23 Nov 2026 18:03:30 GMT", now) == 30


@pytest.mark.parametrize(("status", "reason", "kind"), [
    (401, "authError", GmailUnauthorized),
    (429, "rateLimitExceeded", GmailRateLimited),
    (403, "userRateLimitExceeded", GmailRateLimited),
    (403, "dailyLimitExceeded", GmailRateLimited),
    (500, "backendError", TransientUpstream),
    (503, "backendError", TransientUpstream),
    (400, "failedPrecondition", GmailRejected),
    (403, "insufficientPermissions", GmailRejected),
    (400, "invalidArgument", GmailRejected),
])
def test_gmail_errors_map_to_port_errors(status: int, reason: str, kind: type) -> None:
    mapped = _map_http_error(_http_error(status, reason))
    assert type(mapped) is kind
    if isinstance(mapped, GmailRejected):
        assert (mapped.status, mapped.reason) == (status, reason)
