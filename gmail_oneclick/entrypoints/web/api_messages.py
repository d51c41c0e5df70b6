"""``POST /v1/messages``: JSON ``{"raw", "connection_id"?}`` or a ``message/rfc822`` body.

Size is enforced twice before anything goes upstream: from ``Content-Length`` before reading,
and while reading (a body without a length, or one that lies). The message is held in memory
only (never a temporary file: content must not touch the disk). Either body is read in chunks
straight into the buffer the upload streams from: the rfc822 body as it is, the JSON body's
base64 decoded as it arrives (send_body).
"""

from __future__ import annotations

import functools
import io
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from gmail_oneclick.domain import errors
from gmail_oneclick.domain.errors import (
    InvalidMessage,
    InvalidRequest,
    MessageTooLarge,
    UnsupportedMediaType,
)
from gmail_oneclick.entrypoints.web import body, container
from gmail_oneclick.entrypoints.web.auth import current_site
from gmail_oneclick.entrypoints.web.declare import declare
from gmail_oneclick.entrypoints.web.send_body import read_send_json
from gmail_oneclick.services.mime import MAX_MESSAGE_BYTES
from gmail_oneclick.services.sending import (
    Outgoing,
    Sending,
    SendResult,
    send_message,
)

bp = Blueprint("api_messages", __name__)

# base64 of the largest message, plus room for the JSON around it.
MAX_JSON_BYTES = (MAX_MESSAGE_BYTES + 2) // 3 * 4 + 64 * 1024
TOO_LARGE = f"messages are limited to {MAX_MESSAGE_BYTES} bytes (35 MB)"
SEND_FIELDS = {"raw": body.Field(required=True, invalid=InvalidMessage),
               "connection_id": body.Field(nullable=True)}
# What a send may answer, on this route and on Post SMTP's.
SEND_ERRORS = (
    InvalidRequest, InvalidMessage, errors.TooManyRecipients, errors.ConnectionRequired,
    errors.Unauthorized, errors.PermissionDeniedUpstream, errors.NotFound,
    errors.ReconnectRequired, errors.ScopeMissing, errors.MailServiceNotEnabled,
    errors.IdempotencyInProgress, MessageTooLarge, UnsupportedMediaType,
    errors.IdempotencyKeyReused, errors.RateLimited, errors.UpstreamUnavailable,
    errors.DeliveryUnknown, errors.SiteUnverified,
)


def sending() -> Sending:
    c = container()
    policy = c.send_policy
    return Sending(uow_factory=c.uow, google=c.google, gmail=c.gmail, clock=c.clock,
                   attempts=c.settings.gmail_send_attempts,
                   backoff_base=policy.backoff_base, backoff_cap=policy.backoff_cap,
                   sleep=policy.sleep,
                   idempotency_lease=timedelta(seconds=c.settings.idempotency_lease_seconds),
                   read_uow_factory=functools.partial(c.uow, readonly=True))


def _too_large() -> MessageTooLarge:
    return MessageTooLarge(TOO_LARGE)


def read_body(limit: int) -> io.BytesIO:
    buffer = io.BytesIO()
    for chunk in body.chunks(limit, _too_large):
        buffer.write(chunk)
    return buffer


def read_bytes(limit: int) -> bytearray:
    return body.read_bytes(limit, _too_large)


def json_body(fields: body.Fields, *, open_ended: bool = False) -> dict[str, Any]:
    """A send's JSON body: the one JSON reader with a message's size limit and its error."""
    return body.json_object(fields, limit=MAX_JSON_BYTES, open_ended=open_ended,
                            too_large=_too_large)


def optional_str(fields: dict[str, Any], name: str) -> str | None:
    """A field json_body already type-checked as a string or null; "" counts as absent."""
    value = fields.get(name)
    return value if isinstance(value, str) and value else None


def queried_connection() -> str | None:
    """``?connection_id=``; present but empty is a 400, not "pick one for me"."""
    value = request.args.get("connection_id")
    if value is not None and not value:
        raise InvalidRequest("connection_id in the query must not be empty")
    return value


def message_from_request() -> tuple[io.BytesIO, int, str | None]:
    """(message stream, size, connection_id) from either accepted content type, read from the
    request only now: callers check the API key first."""
    if request.mimetype == "application/json":
        fields, message = read_send_json(body.chunks(MAX_JSON_BYTES, _too_large), SEND_FIELDS)
        connection_id = optional_str(fields, "connection_id")
        queried = queried_connection()
        if connection_id and queried and connection_id != queried:
            raise InvalidRequest("connection_id differs between the body and the query")
        connection_id = connection_id or queried
        if isinstance(message, InvalidMessage):
            raise message
        return message, message.getbuffer().nbytes, connection_id
    if request.mimetype == "message/rfc822":
        buffer = read_body(MAX_MESSAGE_BYTES)
        return buffer, buffer.getbuffer().nbytes, queried_connection()
    raise UnsupportedMediaType("send application/json {\"raw\": ...} or message/rfc822")


def send(message: io.BytesIO, size: int, *, site_id: str, connection_id: str | None,
         account_email: str | None = None) -> SendResult:
    try:
        return send_message(sending(), Outgoing(
            site_id=site_id, message=message, size=size, connection_id=connection_id,
            account_email=account_email, idempotency_key=request.headers.get("Idempotency-Key"),
        ))
    finally:
        message.close()


@bp.post("/v1/messages")
@declare(errors=SEND_ERRORS, query=["connection_id"], body=SEND_FIELDS)
def post_message() -> Response:
    site = current_site()  # the key first: nothing about the body is read for a stranger
    message, size, connection_id = message_from_request()
    result = send(message, size, site_id=site.id, connection_id=connection_id)
    return jsonify({"id": result.id, "thread_id": result.thread_id,
                    "connection_id": result.connection_id})
