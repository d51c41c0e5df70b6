"""The sandbox Gmail API's wire format: Google's error shape and the parsing of what a client
sends (base64url ``raw``, multipart/related bodies, ``Content-Range``, recipient headers)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Any

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED",
           500: "INTERNAL", 503: "UNAVAILABLE"}


class GmailApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, *, status: str | None = None,
                 domain: str = "global", short: str | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.status = status or _STATUS.get(code, "UNKNOWN")
        self.domain, self.short = domain, short or message
        self.headers: dict[str, str] = {}


def auth_error() -> GmailApiError:
    exc = GmailApiError(
        401, "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential.", short="Invalid Credentials")
    exc.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/", ' \
                                      'error="invalid_token"'
    return exc


def recipient_count(raw: bytes) -> int:
    if not raw.strip():
        raise GmailApiError(400, "invalidArgument", "Recipient address required")
    headers = BytesHeaderParser().parsebytes(raw)
    values = [str(v) for name in ("to", "cc", "bcc") for v in headers.get_all(name, [])]
    count = len([addr for _, addr in getaddresses(values) if "@" in addr])
    if count == 0:
        raise GmailApiError(400, "invalidArgument", "Recipient address required")
    return count


def too_large() -> GmailApiError:
    return GmailApiError(413, "uploadTooLarge", "Request too large for users.messages.send.")


def decode_raw(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise GmailApiError(400, "invalidArgument", "'raw' RFC822 payload message string or "
                            "uploading message via /upload/* URL required")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise GmailApiError(400, "invalidArgument", "Invalid value for ByteString") from None


def multipart(body: bytes, content_type: str) -> tuple[dict[str, Any], bytes]:
    """The metadata JSON and the media of a multipart/related body (parts split by boundary)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise GmailApiError(400, "badContent", "Missing multipart boundary")
    delimiter = b"--" + match.group(1).encode()
    parts = [p for p in body.split(delimiter)[1:] if not p.startswith(b"--")]
    if len(parts) != 2:
        raise GmailApiError(400, "badContent", "Expected metadata and media parts")
    decoded: list[bytes] = []
    for part in parts:
        sep = b"\r\n\r\n" if b"\r\n\r\n" in part else b"\n\n"
        _, _, content = part.partition(sep)
        # The line break before the next delimiter belongs to the delimiter.
        content = content[:-2] if content.endswith(b"\r\n") else content.removesuffix(b"\n")
        decoded.append(content)
    try:
        metadata = json.loads(decoded[0] or b"{}")
    except ValueError:
        raise GmailApiError(400, "badContent", "Invalid metadata part") from None
    return (metadata if isinstance(metadata, dict) else {}), decoded[1]


def content_range(header: str) -> tuple[int, int, int | None] | None:
    """(first, last, total) of ``bytes a-b/total``; None for ``bytes */total`` (a status query)."""
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", header.strip())
    if match is None:
        return None
    total = None if match.group(3) == "*" else int(match.group(3))
    return int(match.group(1)), int(match.group(2)), total
