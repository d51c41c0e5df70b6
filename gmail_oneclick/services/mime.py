"""Just enough of a message's header block to route and check it; the body is never parsed.

Only the bytes up to the first empty line are read (at most MAX_HEADER_BYTES). The fields are
split out by ``_address_fields``, which follows the standard library's ``BytesHeaderParser``
(compat32) line for line but keeps only From, To, Cc and Bcc: the feed parser builds a
Message of every field and cost a send more CPU than its database work. Addresses are then
parsed by ``email.utils``. A test compares both parsers on generated header blocks. What
comes out is a From address and a recipient count: no subject, no recipient address, no
content is kept, returned or logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.policy import compat32
from email.utils import getaddresses, parseaddr
from typing import BinaryIO

from gmail_oneclick.domain.errors import InvalidMessage, MessageTooLarge, TooManyRecipients

MAX_MESSAGE_BYTES = 36_700_160  # Gmail's 35 MB upload limit
MAX_RECIPIENTS = 100  # Gmail's per-message recipient limit
MAX_HEADER_BYTES = 1024 * 1024
_FIRST_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")  # a header field name (RFC 5322 ftext)
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
# The feed parser's own patterns (email.feedparser): lines end in \r\n, \r or \n, and a
# header-block line is a field, a continuation, or an mbox "From " line.
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
_HEADER_LINE = re.compile(r"^(From |[\041-\071\073-\176]*:|[\t ])")
_WANTED = frozenset({"from", "to", "cc", "bcc"})


@dataclass(frozen=True)
class MessageInfo:
    """What routing and the audit trail may know about a message."""

    from_address: str | None  # lower case, or None when there is no usable From
    recipients: int
    size: int

    def __repr__(self) -> str:  # the From address is personal data: keep it out of reprs
        return f"MessageInfo(recipients={self.recipients}, size={self.size})"


def _header_block(message: BinaryIO, size: int) -> bytes:
    message.seek(0)
    head = message.read(min(size, MAX_HEADER_BYTES))
    message.seek(0)
    end = _END_OF_HEADERS.search(head)
    if end is not None:
        return head[: end.start()] + b"\r\n\r\n"
    if size > MAX_HEADER_BYTES:
        raise InvalidMessage("the message's header block is too large or never ends")
    return head  # headers only, no body: still a message


def inspect_message(message: BinaryIO, size: int) -> MessageInfo:
    """Check that ``message`` looks like an RFC 5322 message with 1..MAX_RECIPIENTS recipients.

    Raises InvalidMessage (empty, not a message, no recipients), TooManyRecipients, or
    MessageTooLarge. The stream is left at position 0.
    """
    if size <= 0:
        raise InvalidMessage("the message is empty")
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"messages are limited to {MAX_MESSAGE_BYTES} bytes (35 MB)")
    block = _header_block(message, size)
    if not _FIRST_LINE.match(block):
        raise InvalidMessage("the message is not an RFC 5322 (MIME) message: no header fields")
    fields = _address_fields(block)
    # To, then Cc, then Bcc values, as Message.get_all would list them.
    values = [v for wanted in ("to", "cc", "bcc") for name, v in fields if name == wanted]
    recipients = sum(1 for _, address in getaddresses(values) if "@" in address)
    if recipients == 0:
        raise InvalidMessage("the message has no recipients (To, Cc or Bcc)")
    if recipients > MAX_RECIPIENTS:
        raise TooManyRecipients(
            f"the message has {recipients} recipients; Gmail accepts at most {MAX_RECIPIENTS}"
        )
    first_from = next((v for name, v in fields if name == "from"), "")
    sender = parseaddr(first_from)[1].strip().lower()
    return MessageInfo(from_address=sender if "@" in sender else None,
                       recipients=recipients, size=size)


def _address_fields(block: bytes) -> list[tuple[str, str]]:
    """(lower-case name, value) of the From, To, Cc and Bcc fields of a header block in the
    order they appear, with the values ``BytesHeaderParser().parsebytes(block)`` would give
    (email.feedparser's _parsegen and _parse_headers, policy compat32)."""
    text = block.decode("ascii", "surrogateescape")
    lines = [line for line in _LINES.findall(text) if line]
    fields: list[tuple[str, str]] = []
    name: str | None = None
    value: list[str] = []
    for lineno, line in enumerate(lines):
        if not _HEADER_LINE.match(line):
            break  # the first line that is not a header line starts the body
        if line[0] in " \t":
            if name is not None:  # a continuation with no field before it is dropped
                value.append(line)
            continue
        _keep(fields, name, value)
        name, value = None, []
        if line.startswith("From "):
            if lineno == len(lines) - 1:
                return fields  # a last "From " line is taken as the start of the body
            continue  # a Unix "From " line is no field
        colon = line.find(":")
        if colon > 0:  # ":value" has no field name and is dropped
            name, value = line[:colon], [line[colon + 1:]]
    _keep(fields, name, value)
    return fields


def _keep(fields: list[tuple[str, str]], name: str | None, lines: list[str]) -> None:
    if name is not None and name.lower() in _WANTED:
        raw = lines[0].lstrip(" \t") + "".join(lines[1:])
        fields.append((name.lower(), str(compat32.header_fetch_parse(name, raw.rstrip("\r\n")))))
