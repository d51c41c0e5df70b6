"""The one reader of request bodies, and the one strict JSON reader on top of it.

Every body is read to exactly its announced length or refused: ``ExactBody`` wraps each request's
input so that a body ending before its ``Content-Length`` (a client that died mid-upload: gunicorn
hands the application whatever arrived) is a 400 ``invalid_request`` wherever it is read, forms
included, before anything is sent or written. JSON bodies are bounded in size and depth, must be
one object without repeated keys, and every field is checked against its declared type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Literal

from flask import request

from gmail_oneclick.domain.errors import InvalidRequest, ServiceError

READ_CHUNK = 256 * 1024
MAX_DEPTH = 32
SMALL_JSON_BYTES = 16 * 1024  # every JSON body but a message's

# A JSON string, or an unterminated one up to the end (so the scan stays linear on hostile input).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


class BodyIncomplete(InvalidRequest):
    """The body ended (or broke) before its announced length: never act on part of a request."""


class _ExactInput:
    """``wsgi.input`` that raises BodyIncomplete instead of returning a short body."""

    def __init__(self, stream: IO[bytes], length: int | None) -> None:
        self._stream = stream
        self._remaining = length

    def read(self, size: int | None = -1) -> bytes:
        if self._remaining is not None:
            if self._remaining <= 0:
                return b""
            size = self._remaining if size is None or size < 0 else min(size, self._remaining)
        try:
            data = self._stream.read(size) if size is not None else self._stream.read()
        except OSError:  # gunicorn's NoMoreData / bad chunk framing are IOErrors
            raise BodyIncomplete("the request body could not be read to its end") from None
        if self._remaining is not None:
            if not data and size:
                raise BodyIncomplete("the request body ended before its Content-Length")
            self._remaining -= len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        limit = self._remaining if self._remaining is not None else -1
        if size is not None and size >= 0:
            limit = size if limit < 0 else min(size, limit)
        if limit == 0:
            return b""
        try:
            line: bytes = self._stream.readline(limit)
        except OSError:
            raise BodyIncomplete("the request body could not be read to its end") from None
        if self._remaining is not None:
            if not line:
                raise BodyIncomplete("the request body ended before its Content-Length")
            self._remaining -= len(line)
        return line

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


class ExactBody:
    """WSGI middleware: every request's body is read exactly to its length, or refused."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        raw = environ.get("CONTENT_LENGTH", "")
        length = int(raw) if raw.isdigit() else None
        environ["wsgi.input"] = _ExactInput(environ["wsgi.input"], length)
        return self.app(environ, start_response)


def chunks(limit: int, too_large: Callable[[], ServiceError]) -> Iterator[bytes]:
    """The request body in chunks, refused with ``too_large()`` past ``limit`` bytes, announced
    or not; BodyIncomplete when it ends early."""
    announced = request.content_length
    if announced is not None and announced > limit:
        raise too_large()
    total = 0
    while chunk := request.stream.read(min(READ_CHUNK, limit + 1 - total)):
        total += len(chunk)
        if total > limit:
            raise too_large()
        yield chunk


def _body_too_large() -> ServiceError:
    return InvalidRequest("the body is too large")


def read_bytes(limit: int, too_large: Callable[[], ServiceError] = _body_too_large) -> bytearray:
    """The whole body (a bytearray: json.loads and BytesIO take it without another copy)."""
    data = bytearray()
    for chunk in chunks(limit, too_large):
        data += chunk
    return data


@dataclass(frozen=True)
class Field:
    """A documented JSON field: a string, or an array of strings (the document's types)."""

    kind: Literal["string", "array"] = "string"
    required: bool = False
    nullable: bool = False
    max_items: int | None = None
    # The code a wrong value gets: a message field's is invalid_message, as a bad base64 is.
    invalid: type[ServiceError] = InvalidRequest

    def check(self, name: str, value: Any) -> None:
        if value is None:
            if not self.nullable:
                raise self.invalid(f'"{name}" must not be null')
        elif self.kind == "string":
            if not isinstance(value, str):
                raise self.invalid(f'"{name}" must be a string')
        elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.invalid(f'"{name}" must be an array of strings')
        elif self.max_items is not None and not 1 <= len(value) <= self.max_items:
            raise self.invalid(f'"{name}" must hold 1 to {self.max_items} strings')


Fields = Mapping[str, Field]


def check_fields(body: dict[str, Any], fields: Fields, *, open_ended: bool = False) -> None:
    """Every field in ``fields`` has its type, required ones are present, and (unless
    ``open_ended``) there is no other field. Raises InvalidRequest naming the field."""
    unknown = sorted(str(k) for k in body if k not in fields)
    if unknown and not open_ended:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)[:200]}")
    for name, field in fields.items():
        if name in body:
            field.check(name, body[name])
        elif field.required:
            raise field.invalid(f'"{name}" is required')


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body = dict(pairs)
    if len(body) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON


def too_deep(data: bytes | bytearray) -> bool:
    """Whether brackets nest deeper than MAX_DEPTH outside strings (C-speed passes: the
    parser would recurse once per level, and a RecursionError is a 500)."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return False  # the usual case, a message's JSON included: nothing to scan
    skeleton = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    for _ in range(MAX_DEPTH):
        shorter = skeleton.replace(b"[]", b"").replace(b"{}", b"")
        if shorter == skeleton:
            return False  # empty, or unbalanced: the parser says so
        skeleton = shorter
    return bool(skeleton)


def parse_json_object(data: bytes | bytearray, fields: Fields, *,
                      open_ended: bool = False) -> dict[str, Any]:
    """One UTF-8 JSON object, at most MAX_DEPTH deep, no repeated key, fields as declared.
    Raises InvalidRequest saying which rule the body broke."""
    if too_deep(data):
        raise InvalidRequest(f"the JSON body nests deeper than {MAX_DEPTH} levels")
    try:
        body = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys,
                          parse_constant=_refuse_constant)
    except _RepeatedKey as exc:
        raise InvalidRequest(f'the JSON body repeats the key "{exc.key[:64]}"') from None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise InvalidRequest("the body is not valid UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    check_fields(body, fields, open_ended=open_ended)
    return body


def json_object(fields: Fields, *, limit: int = SMALL_JSON_BYTES, open_ended: bool = False,
                too_large: Callable[[], ServiceError] = _body_too_large) -> dict[str, Any]:
    """The request's body as parse_json_object reads it (the caller checked the media type);
    the raw bytes are a temporary, gone as soon as they are parsed."""
    return parse_json_object(read_bytes(limit, too_large), fields, open_ended=open_ended)


def json_request(fields: Fields) -> dict[str, Any]:
    """A small JSON object body (an API call that is not a send). Raises InvalidRequest for a
    wrong content type, a body that is not one JSON object, or a field not as declared."""
    if request.mimetype != "application/json":
        raise InvalidRequest("the body must be JSON (Content-Type: application/json)")
    return json_object(fields)
