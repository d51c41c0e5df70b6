"""A send's JSON body, ``{"raw": base64url, ...}``, read as it streams.

A 35 MB message is 47 MB of base64: holding the JSON text, the string parsed from it and the
decoded bytes at once costs four times the message. Here the base64 in ``raw`` is decoded piece
by piece, as the body arrives, into the buffer the upload streams from. Everything else in the
body (its "skeleton": the body with raw's value replaced by ``""``) still goes through the one
strict JSON reader, so each of its rules holds as before: one object, no repeated key, no unknown
field, declared types, bounded depth, UTF-8. A body whose ``raw`` value cannot be located in its
first bytes (a key spelled with escapes, say) is read whole and parsed as before.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

from gmail_oneclick.domain.errors import InvalidMessage, InvalidRequest
from gmail_oneclick.entrypoints.web import body

HEAD_BYTES = 64 * 1024  # where "raw" is looked for: anything before it is a small field
CANDIDATES = 4  # matches of the pattern tried, so a hostile head costs a bounded amount
_RAW_KEY = re.compile(rb'"raw"[ \t\n\r]*:[ \t\n\r]*"')
# The longest run of whole characters and whole escapes inside a JSON string.
_CONTENT = re.compile(rb'(?:[^"\\]+|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*')
_LONGEST_ESCAPE = 6  # \uXXXX
_NOT_JSON = "the body is not valid UTF-8 JSON"


def decode_raw(value: Any, name: str = "raw") -> bytes:
    """base64url (or standard base64), padding optional; InvalidMessage otherwise."""
    if not isinstance(value, str) or not value:
        raise InvalidMessage(f'"{name}" must be a non-empty base64url string')
    padded = value + "=" * (-len(value) % 4)
    try:
        return base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        pass
    compact = "".join(value.split())  # tolerate line-wrapped base64, at the cost of a copy
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), altchars=b"-_",
                                validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMessage(f'"{name}" is not valid base64url') from None


class _BrokenJson(Exception):
    """raw's string is not a valid JSON string (or never ends)."""


class Base64Sink:
    """decode_raw's rules applied to a string given in pieces: whitespace dropped, base64url or
    standard alphabet, padding optional. Whole groups of four are decoded as they come; one
    group is held back, and everything once padding appears, so that the last decode sees the
    same end of the string decode_raw would."""

    def __init__(self) -> None:
        self.out = io.BytesIO()
        self._pending = ""
        self._padded = False
        self._bad = False

    def feed(self, text: str) -> None:
        if self._bad:
            return
        self._pending += "".join(text.split())
        self._padded = self._padded or "=" in self._pending
        cut = (len(self._pending) // 4 - 1) * 4
        if not self._padded and cut > 0:
            self._decode(self._pending[:cut])
            self._pending = self._pending[cut:]

    def finish(self) -> io.BytesIO | None:
        """The decoded message, or None if the string was not base64."""
        if not self._bad:
            self._decode(self._pending + "=" * (-len(self._pending) % 4))
        return None if self._bad else self.out

    def _decode(self, text: str) -> None:
        try:
            self.out.write(base64.b64decode(text, altchars=b"-_", validate=True))
        except (binascii.Error, ValueError):
            self._bad = True
            self.out = io.BytesIO()  # drop what was decoded: it will never be sent


class RawString:
    """The inside of raw's JSON string, given in pieces from just after its opening quote:
    unescaped exactly as the JSON parser would, then decoded by a Base64Sink."""

    def __init__(self) -> None:
        self.sink = Base64Sink()
        self.empty = True
        self._carry = b""  # an escape cut by the end of a chunk
        self._utf8 = codecs.getincrementaldecoder("utf-8")()

    def feed(self, chunk: bytes | bytearray) -> bytes | None:
        """What follows the closing quote once it came (possibly b""), else None.
        Raises _BrokenJson."""
        data = self._carry + chunk if self._carry else bytes(chunk)
        match = _CONTENT.match(data)
        end = match.end() if match else 0
        closed = end < len(data) and data[end] == ord('"')
        if not closed and len(data) - end >= _LONGEST_ESCAPE:
            raise _BrokenJson  # a backslash that starts no escape
        self._carry = b"" if closed else data[end:]
        try:
            text = json.loads('"' + self._utf8.decode(data[:end], closed) + '"')
        except ValueError:  # bad UTF-8, a control character
            raise _BrokenJson from None
        self.empty = self.empty and not text
        self.sink.feed(text)
        return data[end + 1:] if closed else None


def _raw_value_start(head: bytearray) -> int | None:
    """Where raw's string value opens in ``head``, if it is a key of the top-level object:
    the head up to there, closed with ``""}``, must parse with raw as its last key."""
    for match in itertools.islice(_RAW_KEY.finditer(head), CANDIDATES):
        start = match.end() - 1
        try:
            pairs = json.loads(head[:start].decode("utf-8") + '""}', object_pairs_hook=list)
        except (ValueError, RecursionError):
            continue
        if isinstance(pairs, list) and pairs and pairs[-1] == ("raw", ""):
            return start
    return None


def _head(stream: Iterator[bytes]) -> bytearray:
    head = bytearray()
    for chunk in stream:
        head += chunk
        if len(head) >= HEAD_BYTES:
            break
    return head


def _rest(stream: Iterator[bytes], raw: RawString, first: bytes | bytearray) -> bytearray:
    """What follows raw's string, the string itself fed to ``raw``. InvalidRequest if it is
    no JSON string, once the body was read to its end (a too large or cut short body says so
    first, as it did when the body was read whole before parsing)."""
    try:
        after = raw.feed(first)
        while after is None:
            after = raw.feed(next(stream))
    except (_BrokenJson, StopIteration):
        for _ in stream:
            pass
        raise InvalidRequest(_NOT_JSON) from None
    rest = bytearray(after)
    for chunk in stream:
        rest += chunk
    return rest


Outcome = io.BytesIO | InvalidMessage


def read_send_json(stream: Iterator[bytes], fields: body.Fields) -> tuple[dict[str, Any], Outcome]:
    """(the body's fields but raw, the decoded message or the InvalidMessage raw earns) from
    ``stream``, the body's chunks. The message's error is returned, not raised, so the caller
    can check the other fields first, as when raw was decoded after parsing."""
    head = _head(stream)
    start = _raw_value_start(head)
    if start is None:  # read whole and parsed as before: rare, and never a large message
        for chunk in stream:
            head += chunk
        parsed = body.parse_json_object(head, fields)
        del head
        try:
            return parsed, io.BytesIO(decode_raw(parsed.pop("raw", None)))
        except InvalidMessage as exc:
            return parsed, exc
    raw = RawString()
    skeleton = head[:start] + b'""' + _rest(stream, raw, head[start + 1:])
    del head
    parsed = body.parse_json_object(skeleton, fields)
    parsed.pop("raw")
    if raw.empty:
        return parsed, InvalidMessage('"raw" must be a non-empty base64url string')
    message = raw.sink.finish()
    return parsed, InvalidMessage('"raw" is not valid base64url') if message is None else message
