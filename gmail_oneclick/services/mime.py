"""Just enough of a message's header block to route and check it; the body is never parsed.

Only the bytes up to the first empty line are read (at most MAX_HEADER_BYTES), with the
standard library's header parser. What comes out is a From address and a recipient count:
no subject, no recipient address, no content is kept, returned or logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from typing import BinaryIO

from gmail_oneclick.errors import InvalidMessage, MessageTooLarge, TooManyRecipients

MAX_MESSAGE_BYTES = 36_700_160  # Gmail's 35 MB upload limit
MAX_RECIPIENTS = 100  # Gmail's per-message recipient limit (GOOGLE.md)
MAX_HEADER_BYTES = 1024 * 1024
_FIRST_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")  # a header field name (RFC 5322 ftext)
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")


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
    headers = BytesHeaderParser().parsebytes(block)
    values = [str(v) for name in ("to", "cc", "bcc") for v in headers.get_all(name, [])]
    recipients = sum(1 for _, address in getaddresses(values) if "@" in address)
    if recipients == 0:
        raise InvalidMessage("the message has no recipients (To, Cc or Bcc)")
    if recipients > MAX_RECIPIENTS:
        raise TooManyRecipients(
            f"the message has {recipients} recipients; Gmail accepts at most {MAX_RECIPIENTS}"
        )
    sender = parseaddr(str(headers.get("from", "")))[1].strip().lower()
    return MessageInfo(from_address=sender if "@" in sender else None,
                       recipients=recipients, size=size)
