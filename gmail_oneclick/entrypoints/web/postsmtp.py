"""Post SMTP wire compatibility: ``POST /wp-json/gmail-oauth/v1/send-email``.

Post SMTP 3.2+ ("Gmail One Click") posts ``{"message": base64url without padding, "headers":
the header block again, "site_url": get_site_url()}`` (later versions may add ``account_key``
and ``gmail_email``) and reads ``data.id`` / ``data.threadId`` from a 200 answer. Here the same
site API key goes in ``Authorization: Bearer``; errors are ``{"error": true, "message", "code"}``
(web/errors.py shapes every ``/wp-json/`` error that way).
"""

from __future__ import annotations

import io

from flask import Blueprint, Response, jsonify, request

from gmail_oneclick.domain.errors import InvalidMessage, UnsupportedMediaType
from gmail_oneclick.entrypoints.web.api_messages import (
    SEND_ERRORS,
    json_body,
    optional_str,
    send,
)
from gmail_oneclick.entrypoints.web.auth import current_site
from gmail_oneclick.entrypoints.web.body import Field
from gmail_oneclick.entrypoints.web.declare import declare
from gmail_oneclick.entrypoints.web.send_body import decode_raw

bp = Blueprint("postsmtp", __name__)

# Every field Post SMTP sends is type-checked; fields a later Post SMTP adds are let through
# (open-ended), as the relay it replaces does, and never read.
FIELDS = {
    "message": Field(required=True, invalid=InvalidMessage),
    "headers": Field(), "site_url": Field(),
    "account_key": Field(nullable=True), "gmail_email": Field(nullable=True),
}


@bp.post("/wp-json/gmail-oauth/v1/send-email")
@declare(errors=SEND_ERRORS, body=FIELDS, open_ended=True)
def send_email() -> Response:
    site = current_site()
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send application/json as Post SMTP does")
    body = json_body(FIELDS, open_ended=True)
    # "headers" repeats the message's own header block and "site_url" is informational: the
    # API key already names the site. Neither is read further, so neither can leak anywhere.
    account_email = optional_str(body, "gmail_email")
    raw = decode_raw(body.pop("message", None), "message")
    del body
    result = send(io.BytesIO(raw), len(raw), site_id=site.id, connection_id=None,
                  account_email=account_email)
    return jsonify({"data": {"id": result.id, "threadId": result.thread_id}})
