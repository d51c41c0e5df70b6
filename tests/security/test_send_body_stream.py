"""The streamed JSON send body answers exactly as reading the body whole did: the same fields,
the same decoded message, the same error code, however the body is cut into chunks."""

from __future__ import annotations

import base64
import io
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gmail_oneclick.domain.errors import InvalidMessage, ServiceError
from gmail_oneclick.entrypoints.web import body, send_body
from gmail_oneclick.entrypoints.web.api_messages import SEND_FIELDS

RAW_VALUES = [
    b"QUJD", b"QUI", b"QUI=", b"QQ", b"QQ==", b"QQ=", b"Pz8-", b"Pz8_", b"Pz8+Pz8/",
    b"QUJD\\nREVG\\r\\nR0g=", b"QU JD\\tRE", b"\\u0051UJD", b"QU\\/J", b"QUJD\\u00a0REVG",
    b"QUJD\xc2\xa0REVG", b"QUJD\\u2028RE", b"", b"  ", b"\\n", b"=", b"====", b"Q", b"QUJDR",
    b"QQ==QQ==", b"QQ=QQ", b"QUJD====", b"QUJD=", b"Q===", b"QUJ*", b"QU\x01JD", b"QU\\qJD",
    b"QU\\u00", b"QU\\u00zz", b"QU\xffJD", b"QU\\ud800JD", b"QU\\ud83d\\ude00", b"QU\xe2\x82",
    b"\xf0\x9f\x98\x80", b'QU\\"JD', b"QU\\\\JD",
]
BODIES = [b'{"raw": "%s"}' % v for v in RAW_VALUES] + [
    b'{"raw": "QUJD", "connection_id": "conn_1"}', b'{"connection_id": null, "raw": "QUJD"}',
    b' \n{ "raw" :\t"QUJD" } \n', b'{"raw": "QUJD", "raw": "QUJD"}', b'{"raw": "QUJD", "x": 1}',
    b'{"x": {"raw": "QUJD"}, "raw": "QUJD"}', b'{"r\\u0061w": "QUJD"}', b'[{"raw": "QUJD"}]',
    b'{"raw": "QUJD"', b'{"raw": "QUJD', b'{"raw": "QUJD"} x', b'{"raw": null}', b'{"raw": 1}',
    b'{"raw": "QUJD", "connection_id": 1}', b'{"raw": "QUJD", "connection_id": NaN}',
    b'\xef\xbb\xbf{"raw": "QUJD"}', b'{"raw": "QUJD", "connection_id": "\xff"}', b"{}", b"",
    b'{"x\\"raw": "QUJD"}', b'{"a": "x"raw": "QUJD"}', b'{"raw": "QUJ*", "x": 1}',
    b'{"raw": "QUJD", "connection_id": "c"' + b"[" * 40 + b"]" * 40 + b"}",
]


def whole(data: bytes) -> tuple[dict[str, Any], io.BytesIO | InvalidMessage]:
    """What the route did before: the whole body parsed, then raw decoded."""
    fields = body.parse_json_object(bytearray(data), SEND_FIELDS)
    try:
        return fields, io.BytesIO(send_body.decode_raw(fields.pop("raw", None)))
    except InvalidMessage as exc:
        return fields, exc


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i:i + size] for i in range(0, len(data), size))


def answer(read: Callable[[], tuple[dict[str, Any], io.BytesIO | InvalidMessage]]) -> Any:
    try:
        fields, message = read()
    except ServiceError as exc:
        return exc.code
    if isinstance(message, InvalidMessage):
        return fields, message.code
    return fields, message.getvalue()


def assert_same(data: bytes, sizes: tuple[int, ...] = (1, 2, 3, 5, 7, 4096)) -> None:
    expected = answer(lambda: whole(data))
    for size in sizes:
        got = answer(lambda: send_body.read_send_json(pieces(data, size), SEND_FIELDS))
        assert got == expected, (data, size)


@pytest.mark.parametrize("head_bytes", [9, 16, send_body.HEAD_BYTES])
@pytest.mark.parametrize("data", BODIES)
def test_streamed_body_answers_as_the_whole_body_did(data: bytes, head_bytes: int,
                                                     monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(send_body, "HEAD_BYTES", head_bytes)  # raw's value split across chunks
    assert_same(data)


def test_random_base64ish_values_decode_or_fail_as_before(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(send_body, "HEAD_BYTES", 9)
    rng = random.Random(14)
    alphabet = [b"A", b"g", b"-", b"_", b"+", b"/", b"=", b" ", b"\\n", b"*", b"\\u0041"]
    for _ in range(1500):
        value = b"".join(rng.choice(alphabet) for _ in range(rng.randrange(16)))
        assert_same(b'{"raw": "%s"}' % value, sizes=(1, 3, 4, 64))


def test_a_large_message_streams_out_whole():
    message = random.Random(3).randbytes(3 * 1024 * 1024 + 1)
    data = b'{"raw": "%s"}' % base64.urlsafe_b64encode(message).rstrip(b"=")
    fields, decoded = send_body.read_send_json(pieces(data, body.READ_CHUNK), SEND_FIELDS)
    assert fields == {} and isinstance(decoded, io.BytesIO)
    assert decoded.getvalue() == message
