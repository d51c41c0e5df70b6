"""The sandbox's Gmail API side: ``users.messages.send`` on the JSON and upload paths.

Shapes follow Google's: errors are ``{"error": {"code", "message", "errors": [{"domain",
"reason", "message"}], "status"}}``; uploads take ``uploadType=media|multipart|resumable``, the
resumable one answering its first POST with a session URI in ``Location`` and then accepting
PUTs (whole or in ``Content-Range`` chunks, 308 until complete). The bearer token, the
``gmail.send`` scope, the account's Gmail, recipients and sizes are checked as Google does.
``GET /_sandbox/gmail/sent`` lists what was "sent" (id, recipient count, size; never content).
"""

from __future__ import annotations

import socket
import time
from datetime import timedelta

from flask import Blueprint, Response, render_template, request, url_for
from flask.typing import ResponseReturnValue

from gmail_oneclick.domain.model import GMAIL_SEND
from gmail_oneclick.sandbox.accounts import json_response, sandbox_state
from gmail_oneclick.sandbox.gmail_state import AFTER_ACCEPT_FAULTS, GmailSandbox, gmail_state
from gmail_oneclick.sandbox.gmail_wire import (
    GmailApiError,
    auth_error,
    content_range,
    decode_raw,
    multipart,
    recipient_count,
    too_large,
)

bp = Blueprint("sandbox_gmail", __name__)

SEND_PATH = "/gmail/v1/users/<user>/messages/send"
UPLOAD_PATH = "/upload/gmail/v1/users/<user>/messages/send"


@bp.errorhandler(GmailApiError)
def _gmail_error(exc: GmailApiError) -> ResponseReturnValue:
    body = {"error": {"code": exc.code, "message": exc.message, "status": exc.status,
                      "errors": [{"message": exc.short, "domain": exc.domain,
                                  "reason": exc.reason}]}}
    response = json_response(body, exc.code)
    response.headers.update(exc.headers)
    return response


def gmail() -> GmailSandbox:
    return gmail_state(sandbox_state())


# -- checks, in Google's order: faults, credentials, scope, mailbox ------------------------------
def _apply_fault(g: GmailSandbox) -> str | None:
    """Raises the next injected fault; returns an AFTER_ACCEPT_FAULTS kind for ``_accept``."""
    kind = g.take_fault()
    if kind is None or kind in AFTER_ACCEPT_FAULTS:
        return kind
    if kind == "slow":
        time.sleep(g.slow_seconds)
    elif kind == "401":
        raise auth_error()
    elif kind == "429":
        when = sandbox_state().now() + timedelta(seconds=g.retry_after_seconds)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        exc = GmailApiError(429, "rateLimitExceeded",
                            f"User-rate limit exceeded.  Retry after {stamp}",
                            short="Rate Limit Exceeded", domain="usageLimits")
        exc.headers["Retry-After"] = str(g.retry_after_seconds)
        raise exc
    elif kind == "user_rate":
        raise GmailApiError(403, "userRateLimitExceeded", "User Rate Limit Exceeded",
                            domain="usageLimits")
    elif kind == "daily_limit":
        raise GmailApiError(403, "dailyLimitExceeded", "Daily Limit Exceeded",
                            domain="usageLimits")
    elif kind == "domain_policy":
        raise GmailApiError(403, "domainPolicy",
                            "The domain administrators have disabled Gmail apps.")
    elif kind == "500":
        raise GmailApiError(500, "backendError", "Backend Error")
    else:
        raise GmailApiError(503, "backendError", "The service is currently unavailable.")
    return None


def _lose_the_answer(kind: str | None) -> None:
    """After the message was recorded: drop the connection without an answer, or stall.

    A dropped connection is what a client sees when a proxy or Google's front end fails after
    the send: the message went out and no answer will ever come. Served without a socket at
    hand (inside another WSGI server), the answer stalls instead.
    """
    if kind is None:
        return
    sock = request.environ.get("werkzeug.socket")
    if kind == "drop_after_accept" and isinstance(sock, socket.socket):
        sock.shutdown(socket.SHUT_RDWR)  # the answer written next fails: nothing reaches the client
        return
    time.sleep(gmail().slow_seconds)


def _authorised_email(user: str) -> str:
    """The account behind the bearer token, after the scope and mailbox checks."""
    kind, _, token = request.headers.get("Authorization", "").partition(" ")
    state = sandbox_state()
    info = state.access_token_info(token.strip()) if kind.lower() == "bearer" else None
    if info is None or info.client_id != state.client_id:
        raise auth_error()
    if GMAIL_SEND not in info.scopes:
        raise GmailApiError(403, "insufficientPermissions",
                            "Request had insufficient authentication scopes.",
                            short="Insufficient Permission")
    if user != "me" and user.lower() != info.email.lower():
        raise GmailApiError(403, "forbidden", "Delegation denied for " + info.email)
    account = state.account(info.email)
    if account is None or not account.has_gmail:
        raise GmailApiError(400, "failedPrecondition", "Mail service not enabled",
                            status="FAILED_PRECONDITION")
    return info.email


def _accept(email: str, raw: bytes, path: str, thread_id: str | None,
            after_accept: str | None = None) -> ResponseReturnValue:
    g = gmail()
    if len(raw) > g.max_upload_bytes:
        raise too_large()
    count = recipient_count(raw)
    if count > g.max_recipients:
        raise GmailApiError(400, "invalidArgument", "Too many recipients")
    sent = g.record(email, raw, count, path, thread_id)
    _lose_the_answer(after_accept)
    return json_response({"id": sent.id, "threadId": sent.thread_id, "labelIds": ["SENT"]})


def _check_length(limit: int) -> None:
    if request.content_length is not None and request.content_length > limit:
        raise too_large()


# -- the JSON path -----------------------------------------------------------------------------
@bp.post(SEND_PATH)
def send(user: str) -> ResponseReturnValue:
    g = gmail()
    after_accept = _apply_fault(g)
    email = _authorised_email(user)
    # base64 of the JSON limit plus room for the envelope; Google refuses such bodies with 413.
    _check_length(g.max_json_raw_bytes * 4 // 3 + 4096)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GmailApiError(400, "badRequest", "Invalid JSON payload received.")
    raw = decode_raw(body.get("raw"))
    if len(raw) > g.max_json_raw_bytes:
        raise GmailApiError(413, "badRequest", "Request payload size exceeds the limit")
    thread = body.get("threadId")
    return _accept(email, raw, "json", thread if isinstance(thread, str) else None, after_accept)


# -- the upload paths --------------------------------------------------------------------------
def _start_resumable(g: GmailSandbox, email: str, user: str,
                     after_accept: str | None) -> ResponseReturnValue:
    total_header = request.headers.get("X-Upload-Content-Length")
    total = int(total_header) if total_header and total_header.isdigit() else None
    if total is not None and total > g.max_upload_bytes:
        raise too_large()
    if not request.headers.get("X-Upload-Content-Type", "message/rfc822").startswith("message/"):
        raise GmailApiError(400, "badContent", "Media type not allowed for this upload")
    metadata = request.get_json(silent=True) if request.content_length else None
    upload_id = g.open_session(email, total, metadata if isinstance(metadata, dict) else {},
                               after_accept)
    location = url_for(".upload", user=user, uploadType="resumable", upload_id=upload_id,
                       _external=True)
    response = Response(status=200)
    response.headers["Location"] = location
    response.headers["X-GUploader-UploadID"] = upload_id
    return response


@bp.post(UPLOAD_PATH)
def upload(user: str) -> ResponseReturnValue:
    g = gmail()
    after_accept = _apply_fault(g)
    email = _authorised_email(user)
    kind = request.args.get("uploadType", "")
    if kind == "resumable":
        return _start_resumable(g, email, user, after_accept)
    _check_length(g.max_upload_bytes + 64 * 1024)
    if kind == "media":
        if not request.mimetype.startswith("message/"):
            raise GmailApiError(400, "badContent", "Media type not allowed for this upload")
        return _accept(email, request.get_data(cache=False), "media", None, after_accept)
    if kind == "multipart":
        metadata, raw = multipart(request.get_data(cache=False), request.content_type or "")
        thread = metadata.get("threadId")
        return _accept(email, raw, "multipart", thread if isinstance(thread, str) else None,
                       after_accept)
    raise GmailApiError(400, "invalidArgument", "Invalid upload protocol")


@bp.put(UPLOAD_PATH)
def upload_chunk(user: str) -> ResponseReturnValue:
    g = gmail()
    upload_id = request.args.get("upload_id", "")
    session = g.session(upload_id)
    if session is None:
        raise GmailApiError(404, "notFound", "Upload session not found or expired")
    data = request.get_data(cache=False)
    span = content_range(request.headers.get("Content-Range", ""))
    if span is None and request.headers.get("Content-Range"):
        span_total = request.headers["Content-Range"].rpartition("/")[2]
        total = int(span_total) if span_total.isdigit() else None
    else:
        total = span[2] if span else len(data)
        if span is not None and span[0] != len(session.data):
            raise GmailApiError(400, "badContent", "Chunk does not continue the upload")
        session.data += data
    if len(session.data) > g.max_upload_bytes:
        g.close_session(upload_id)
        raise too_large()
    total = total if total is not None else session.total
    if total is None or len(session.data) < total:
        response = Response(status=308)
        if session.data:
            response.headers["Range"] = f"bytes=0-{len(session.data) - 1}"
        return response
    g.close_session(upload_id)
    thread = session.metadata.get("threadId")
    return _accept(session.email, bytes(session.data), "resumable",
                   thread if isinstance(thread, str) else None, session.after_accept)


# -- what was sent -----------------------------------------------------------------------------
@bp.get("/_sandbox/gmail/sent")
def sent_page() -> ResponseReturnValue:
    """Id, account, recipient count, size and path of each message; never a body or address."""
    g = gmail()  # outside its lock: gmail() takes the state's lock, which comes first
    with g.lock:
        sent = list(g.sent)
    return render_template("gmail_sent.html", sent=sent)
